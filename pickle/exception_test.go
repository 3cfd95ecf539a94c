package pickle

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mpbridge/mpbridge"
	"github.com/stretchr/testify/require"
)

func TestException(t *testing.T) {
	e := NewException("builtins", "KeyError", "k")
	require.Equal(t, "KeyError('k')", e.Error())
	require.Equal(t, "builtins", e.Module())
	require.Equal(t, "KeyError", e.Name())
	require.Equal(t, Tuple{"k"}, e.Args())
	require.Equal(t, "ValueError('a', 1)", NewException("builtins", "ValueError", "a", 1).Error())
	require.Equal(t, "RuntimeError()", NewException("builtins", "RuntimeError").Error())

	empty := NewException("_queue", "Empty")
	require.True(t, errors.Is(empty, mpbridge.ErrEmpty))
	require.True(t, errors.Is(fmt.Errorf("get: %w", empty), mpbridge.ErrEmpty))
	require.False(t, errors.Is(empty, mpbridge.ErrFull))
	require.True(t, errors.Is(NewException("queue", "Full"), mpbridge.ErrFull))
	require.True(t, errors.Is(NewException("queue", "Empty"), mpbridge.ErrEmpty))
	require.False(t, errors.Is(NewException("builtins", "KeyError"), mpbridge.ErrEmpty))

	var target *Exception
	require.True(t, errors.As(fmt.Errorf("wrapped: %w", e), &target))

	// Round trip through a pickle keeps type and args.
	b, err := Dumps(e, 4)
	require.NoError(t, err)
	v, err := Loads(b)
	require.NoError(t, err)
	require.Equal(t, e, v)
}

func TestIsExceptionClass(t *testing.T) {
	for _, g := range []Global{{"builtins", "KeyError"}, {"builtins", "StopIteration"}, {"builtins", "KeyboardInterrupt"},
		{"_queue", "Empty"}, {"queue", "Full"}, {"multiprocessing.context", "AuthenticationError"},
		{"mymod", "CustomException"}, {"warnings", "UserWarning"}} {
		require.True(t, isExceptionClass(g), g.String())
	}
	for _, g := range []Global{{"builtins", "int"}, {"collections", "OrderedDict"}, {"queue", "Queue"}} {
		require.False(t, isExceptionClass(g), g.String())
	}
}
