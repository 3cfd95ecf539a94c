package pickle

import (
	"fmt"
	"reflect"
)

// goToModel converts a Go value that the encoder has no fast path for
// (structs, typed maps and slices, time.Time, registered classes, ...) into
// the value model, which the encoder then writes. Owned by the mapping layer.
func goToModel(v any, protocol int) (any, error) {
	return nil, fmt.Errorf("pickle: cannot encode Go type %s", reflect.TypeOf(v))
}

// assignModel stores the value-model value m (as returned by decoding into
// an any) into dst, which is settable. Owned by the mapping layer.
func assignModel(m any, dst reflect.Value) error {
	return fmt.Errorf("pickle: cannot decode into Go type %s", dst.Type())
}
