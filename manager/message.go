package manager

import (
	"encoding/binary"
	"fmt"

	"github.com/mpbridge/mpbridge/pickle"
)

// request is one decoded request: (None, funcname, args, kwds) to a server
// function or (ident, methodname, args, kwds) on a method-call channel.
type request struct {
	id     any
	method any // normally a str
	args   pickle.Tuple
	kwargs *pickle.Dict
	// callErr is the TypeError Python raises when it calls
	// func(*args, **kwds) with args that are not a sequence or kwds that
	// are not a mapping; it is reported where the call would happen.
	callErr *pickle.Exception
}

// decodeOptions bound what a hostile request can make the decoder build.
var decodeOptions = &pickle.DecodeOptions{MaxDepth: 1000}

// decodeRequest decodes one request frame and checks its shape as the
// unpacking `ident, methodname, args, kwds = request` does in CPython. A
// frame that does not decode is an error (the connection is not to be
// trusted any more); a value of the wrong shape is a Python exception to
// report as #TRACEBACK.
func decodeRequest(frame []byte) (request, *pickle.Exception, error) {
	v, err := pickle.LoadsOptions(frame, decodeOptions)
	if err != nil {
		return request{}, nil, err
	}
	req, exc := parseRequest(v)
	return req, exc, nil
}

func parseRequest(v any) (request, *pickle.Exception) {
	items, ok := seqItems(v)
	if !ok {
		return request{}, ExcTypeError(fmt.Sprintf("cannot unpack non-iterable %s object", PyTypeName(v)))
	}
	switch {
	case len(items) > 4:
		return request{}, ExcValueError("too many values to unpack (expected 4)")
	case len(items) < 4:
		return request{}, ExcValueError(fmt.Sprintf("not enough values to unpack (expected 4, got %d)", len(items)))
	}
	req := request{id: items[0], method: items[1]}
	if a, ok := seqItems(items[2]); ok {
		req.args = a
	} else {
		req.callErr = ExcTypeError(fmt.Sprintf("Value after * must be an iterable, not %s", PyTypeName(items[2])))
	}
	switch k := items[3].(type) {
	case *pickle.Dict:
		req.kwargs = k
		for key := range k.All() {
			if _, ok := key.(string); !ok && req.callErr == nil {
				req.callErr = ExcTypeError("keywords must be strings")
			}
		}
	default:
		if req.callErr == nil {
			req.callErr = ExcTypeError(fmt.Sprintf("argument after ** must be a mapping, not %s", PyTypeName(k)))
		}
	}
	return req, nil
}

// noKwargs is the empty kwargs dict of a request that has none; it is only
// ever read (encoded), so one serves every request.
var noKwargs = pickle.NewDict(0)

// encodeRequest pickles a request tuple.
func encodeRequest(id any, method string, args pickle.Tuple, kwargs *pickle.Dict) ([]byte, error) {
	if args == nil {
		args = pickle.Tuple{}
	}
	if kwargs == nil {
		kwargs = noKwargs
	}
	return pickle.Dumps(pickle.Tuple{id, method, args, kwargs}, pickle.DefaultProtocol)
}

// encodeReply pickles a reply (kind, payload). A Raw payload is spliced in
// without being decoded.
func encodeReply(kind string, payload any) ([]byte, error) {
	if r, ok := payload.(Raw); ok {
		if out, ok := spliceReply(kind, r.Pickle); ok {
			return out, nil
		}
		v, err := pickle.Loads(r.Pickle)
		if err != nil {
			return nil, err
		}
		payload = v
	}
	return pickle.Dumps(pickle.Tuple{kind, payload}, pickle.DefaultProtocol)
}

// spliceReply builds the pickle of (kind, <item>) from the pickle of item:
// PROTO, the kind as a str that is not memoized (so the item's memo
// indices stay valid), the item's opcodes with their frames, TUPLE2, STOP.
// The item's final STOP becomes the TUPLE2, so a frame that ended with it
// keeps its length and the new STOP stands outside any frame, which
// CPython's unpicklers accept.
func spliceReply(kind string, item []byte) ([]byte, bool) {
	if len(item) < 3 || item[0] != 0x80 || item[1] < 2 || item[1] > 5 || item[len(item)-1] != '.' {
		return nil, false
	}
	out := make([]byte, 0, len(item)+len(kind)+8)
	out = append(out, 0x80, item[1], 'X')
	out = binary.LittleEndian.AppendUint32(out, uint32(len(kind)))
	out = append(out, kind...)
	out = append(out, item[2:len(item)-1]...)
	out = append(out, 0x86, '.')
	return out, true
}
