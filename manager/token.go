package manager

import (
	"fmt"

	"github.com/mpbridge/mpbridge"
	"github.com/mpbridge/mpbridge/pickle"
)

// tokenClass is the global a Token pickles as.
var tokenClass = pickle.Global{Module: "multiprocessing.managers", Name: "Token"}

// Token identifies a shared object, as multiprocessing.managers.Token
// does: the typeid it was created with, the address of the server that
// holds it (a pickle value: ('host', port), a path, or an abstract name)
// and its ident.
type Token struct {
	Typeid  string
	Address any
	ID      string
}

// String formats the token like Python's Token.__repr__.
func (t Token) String() string {
	return fmt.Sprintf("Token(typeid=%s, address=%s, id=%s)", pickle.Repr(t.Typeid), pickle.Repr(t.Address), pickle.Repr(t.ID))
}

// Pickle returns the token in the pickle value model, shaped as CPython
// pickles it: NEWOBJ of multiprocessing.managers.Token with no arguments,
// then BUILD with the state tuple (typeid, address, id).
func (t Token) Pickle() *pickle.Object {
	return &pickle.Object{
		Callable: tokenClass,
		Kind:     pickle.NewObj,
		Args:     pickle.Tuple{},
		State:    pickle.Tuple{t.Typeid, t.Address, t.ID},
		HasState: true,
	}
}

// TokenFromPickle reads a Token from its pickled form (as decoded into the
// pickle value model). It accepts the state as a tuple or a list.
func TokenFromPickle(v any) (Token, error) {
	o, ok := v.(*pickle.Object)
	if !ok {
		return Token{}, fmt.Errorf("manager: token: want a Token object, got %s: %w", PyTypeName(v), mpbridge.ErrCorrupt)
	}
	if g, ok := o.Callable.(pickle.Global); !ok || g != tokenClass {
		return Token{}, fmt.Errorf("manager: token: want %s.%s, got %s: %w", tokenClass.Module, tokenClass.Name, pickle.Repr(o.Callable), mpbridge.ErrCorrupt)
	}
	st, _ := seqItems(o.State)
	if !o.HasState || len(st) != 3 {
		return Token{}, fmt.Errorf("manager: token: state is not (typeid, address, id): %w", mpbridge.ErrCorrupt)
	}
	typeid, ok1 := st[0].(string)
	id, ok2 := st[2].(string)
	if !ok1 || !ok2 {
		return Token{}, fmt.Errorf("manager: token: typeid and id must be str: %w", mpbridge.ErrCorrupt)
	}
	return Token{Typeid: typeid, Address: st[1], ID: id}, nil
}
