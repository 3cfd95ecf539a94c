package pickle

import (
	"encoding/json"
	"testing"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

// TestCompatTables checks the fix_imports tables against _compat_pickle of
// every installed Python (3.13 dropped Tix, which the tables keep).
func TestCompatTables(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		raw := py.Run(t, `
import _compat_pickle as c, json
print(json.dumps({
 "names": [[k[0], k[1], v[0], v[1]] for k, v in c.NAME_MAPPING.items()],
 "imports": c.IMPORT_MAPPING,
 "rnames": [[k[0], k[1], v[0], v[1]] for k, v in c.REVERSE_NAME_MAPPING.items()],
 "rimports": c.REVERSE_IMPORT_MAPPING}))
`)
		var tabs struct {
			Names, Rnames     [][4]string
			Imports, Rimports map[string]string
		}
		require.NoError(t, json.Unmarshal(raw, &tabs))
		for _, n := range tabs.Names {
			require.Equal(t, Global{n[2], n[3]}, compatNames[Global{n[0], n[1]}], "%v", n)
		}
		for _, n := range tabs.Rnames {
			require.Equal(t, Global{n[2], n[3]}, reverseNames[Global{n[0], n[1]}], "%v", n)
		}
		for k, v := range tabs.Imports {
			require.Equal(t, v, compatImports[k], k)
		}
		for k, v := range tabs.Rimports {
			require.Equal(t, v, reverseImports[k], k)
		}
	}
	m, n := fixImportsLoad("copy_reg", "_reconstructor")
	require.Equal(t, "copyreg", m)
	require.Equal(t, "_reconstructor", n)
	m, n = fixImportsSave("builtins", "set")
	require.Equal(t, "__builtin__", m)
	require.Equal(t, "set", n)
	m, _ = fixImportsSave("mymodule", "x")
	require.Equal(t, "mymodule", m)
}
