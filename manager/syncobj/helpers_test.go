package syncobj

import (
	"context"
	"math/big"
	"testing"

	"github.com/mpbridge/mpbridge/pickle"
	"github.com/stretchr/testify/require"
)

// describe renders a call's outcome as the tests expect it: "OK <repr>"
// or "<ExceptionName>: <str(exception)>", like the Python peer prints.
func describe(res any, err error) string {
	if err != nil {
		if e, ok := err.(*pickle.Exception); ok {
			args := e.Args()
			switch {
			case len(args) == 0:
				return e.Name() + ": "
			case len(args) == 1 && e.Name() != "KeyError":
				if s, ok := args[0].(string); ok {
					return e.Name() + ": " + s
				}
			}
			if len(args) == 1 {
				return e.Name() + ": " + Repr(args[0])
			}
			return e.Name() + ": " + Repr(args)
		}
		return "GoError: " + err.Error()
	}
	return "OK " + Repr(res)
}

// kw builds keyword arguments from name, value pairs.
func kw(pairs ...any) *pickle.Dict {
	d := pickle.NewDict(len(pairs) / 2)
	for i := 0; i < len(pairs); i += 2 {
		if err := d.Set(pairs[i], pairs[i+1]); err != nil {
			panic(err)
		}
	}
	return d
}

func list(items ...any) *pickle.List { l := pickle.List(items); return &l }

func tuple(items ...any) pickle.Tuple { return pickle.Tuple(items) }

func dict(pairs ...any) *pickle.Dict { return kw(pairs...) }

func slice(start, stop, step any) *pickle.Object {
	return &pickle.Object{Callable: pickle.Global{Module: "builtins", Name: "slice"}, Kind: pickle.Reduce, Args: pickle.Tuple{start, stop, step}}
}

func bigInt(s string) *big.Int {
	b, ok := new(big.Int).SetString(s, 10)
	if !ok {
		panic(s)
	}
	return b
}

// step is one call in a table-driven test.
type step struct {
	method string
	args   pickle.Tuple
	kwargs *pickle.Dict
	want   string // describe() of the outcome
	state  string // Repr of the object afterwards, if not ""
}

func runSteps(t *testing.T, obj Object, steps []step) {
	t.Helper()
	ctx := context.Background()
	for i, s := range steps {
		res, err := obj.Call(ctx, "owner", s.method, s.args, s.kwargs)
		require.Equal(t, s.want, describe(res, err), "step %d: %s%s", i, s.method, Repr(s.args))
		if s.state != "" {
			require.Equal(t, s.state, obj.(Reprer).Repr(), "state after step %d: %s%s", i, s.method, Repr(s.args))
		}
	}
}

func mustObj[T Object](t *testing.T) func(T, error) T {
	return func(o T, err error) T {
		t.Helper()
		require.NoError(t, err)
		return o
	}
}

func nan() float64 { z := 0.0; return z / z }
