package main

// mpbridge pickle: an inspector for pickles (disassembly, JSON view,
// re-encoding through the value model).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/mpbridge/mpbridge/pickle"
)

func init() {
	register("pickle", runPickle, `pickle dis|json|recode [flags] [FILE]
Inspect pickles, reading FILE or, without it, standard input.
dis [--annotate] [--indent N]: disassemble, like python -m pickletools.
json: print each pickle's value as JSON (non-JSON types tagged), one per line.
recode [--protocol N]: decode and re-encode each pickle through the value model.`)
}

func runPickle(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand (dis, json or recode)")
	}
	switch args[0] {
	case "dis":
		return pickleDis(ctx, args[1:])
	case "json":
		return pickleJSON(ctx, args[1:])
	case "recode":
		return pickleRecode(ctx, args[1:])
	}
	return usageErrorf("unknown subcommand %q", args[0])
}

// openInput returns the named file, or standard input when the argument
// list is empty.
func openInput(ctx context.Context, args []string) (io.Reader, func(), error) {
	switch len(args) {
	case 0:
		return ioFrom(ctx).in, func() {}, nil
	case 1:
		if args[0] == "-" {
			return ioFrom(ctx).in, func() {}, nil
		}
		f, err := os.Open(args[0])
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	return nil, nil, usageErrorf("at most one FILE")
}

func pickleDis(ctx context.Context, args []string) error {
	fs := newFlagSet(ctx, "pickle dis")
	annotate := fs.Bool("annotate", false, "annotate each line with a short opcode description (pickletools -a)")
	indent := fs.Int("indent", 4, "spaces per MARK nesting level")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opts := &pickle.DisOptions{Indent: *indent}
	if *annotate {
		opts.Annotate = 30 // pickletools' column for -a
	}
	in, done, err := openInput(ctx, fs.Args())
	if err != nil {
		return err
	}
	defer done()
	data, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(ioFrom(ctx).out)
	err = pickle.Disassemble(out, data, opts)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

// eachPickle decodes the pickles of r one after another until a clean end
// of input, calling f with each value.
func eachPickle(ctx context.Context, r io.Reader, f func(v any) error) error {
	dec := pickle.NewDecoder(bufio.NewReader(r))
	for n := 0; ; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) && n > 0 {
			return nil
		}
		if err != nil {
			return fmt.Errorf("pickle %d: %w", n+1, err)
		}
		if err := f(v); err != nil {
			return err
		}
	}
}

func pickleJSON(ctx context.Context, args []string) error {
	fs := newFlagSet(ctx, "pickle json")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in, done, err := openInput(ctx, fs.Args())
	if err != nil {
		return err
	}
	defer done()
	out := bufio.NewWriter(ioFrom(ctx).out)
	err = eachPickle(ctx, in, func(v any) error {
		js, err := pickle.ToJSON(v)
		if err != nil {
			return err
		}
		out.Write(js)
		return out.WriteByte('\n')
	})
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}

func pickleRecode(ctx context.Context, args []string) error {
	fs := newFlagSet(ctx, "pickle recode")
	protocol := fs.Int("protocol", pickle.DefaultProtocol, "protocol of the output (0-5)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *protocol < 0 || *protocol > pickle.HighestProtocol {
		return usageErrorf("--protocol %d: want 0 to %d", *protocol, pickle.HighestProtocol)
	}
	in, done, err := openInput(ctx, fs.Args())
	if err != nil {
		return err
	}
	defer done()
	out := bufio.NewWriter(ioFrom(ctx).out)
	enc := pickle.NewEncoder(out)
	enc.SetProtocol(*protocol)
	err = eachPickle(ctx, in, enc.Encode)
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	return err
}
