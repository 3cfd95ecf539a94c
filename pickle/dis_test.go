package pickle

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/mpbridge/mpbridge/internal/pytest"
	"github.com/stretchr/testify/require"
)

// TestDisassembleMatchesPickletools compares Disassemble with
// pickletools.dis, plain and annotated, on CPython's pickles of every
// plain case at every protocol and on hand-made protocol 0/1 pickles.
func TestDisassembleMatchesPickletools(t *testing.T) {
	for _, py := range pytest.Pick(t) {
		t.Run("py"+py.Version, func(t *testing.T) {
			pickles := pythonPickles(t, py, plainSetup, plainCases)
			var all [][]byte
			for _, row := range pickles {
				for _, data := range row {
					if data != nil && len(data) < 5000 {
						all = append(all, data)
					}
				}
			}
			all = append(all, oldPickles...)
			in := make([]string, len(all))
			for i, d := range all {
				in[i] = base64.StdEncoding.EncodeToString(d)
			}
			js, err := json.Marshal(in)
			require.NoError(t, err)
			cmd := py.Command("-c", `
import pickletools, io, json, base64, sys
out = []
for s in json.load(sys.stdin):
    res = []
    for ann in (0, 40):
        f = io.StringIO()
        try:
            pickletools.dis(base64.b64decode(s), f, annotate=ann)
        except Exception as e:
            f.write('ERROR\n')
        res.append(f.getvalue())
    out.append(res)
print(json.dumps(out))
`)
			cmd.Stdin = strings.NewReader(string(js))
			raw, err := cmd.Output()
			require.NoError(t, err)
			var want [][]string
			require.NoError(t, json.Unmarshal(raw, &want))
			for i, d := range all {
				for j, ann := range []int{0, 40} {
					var b strings.Builder
					err := Disassemble(&b, d, &DisOptions{Annotate: ann})
					got := b.String()
					if err != nil {
						got += "ERROR\n"
					}
					// CPython 3.13 fixed a typo in LONG4's description.
					exp := strings.ReplaceAll(want[i][j], "using found-byte length", "using four-byte length")
					require.Equal(t, exp, got, "pickle %q", d)
				}
			}
		})
	}
}

// oldPickles are pickles in the styles of Python 2 and of hand-written
// protocol 0/1 data: STRING, BINSTRING, INST, OBJ, PERSID, text ints.
var oldPickles = [][]byte{
	[]byte("(lp0\nS'abc'\np1\naS\"it's\"\np2\naS'a\\n\\x00b'\np3\naI01\naI00\naI-5\naL12345678901234567890L\naF1.5\na."),
	[]byte("(i__main__\nFoo\np0\n(dp1\nS'x'\np2\nI1\nsb."),
	[]byte("(c__main__\nFoo\nI1\nI2\no}bT\x03\x00\x00\x00abcU\x02xy\x86."),
	[]byte("PmyId\n."),
	[]byte("(I1\nI2\nlp0\ng0\n0."),
	[]byte("\x80\x02]q\x00(K\x01K\x02e\x86q\x01\x82\x01."),
	[]byte("(I1\n0I2\n."),
	[]byte("N0."),
	[]byte("\x80\x04\x95\x03\x00\x00\x00\x00\x00\x00\x00N\x94\x94."),
	[]byte("\x80\x05\x96\x03\x00\x00\x00\x00\x00\x00\x00abc\x94."),
	[]byte("Vx\\u0101\\U0001f600\n."),
	[]byte("\x80\x04h\x05."),
	[]byte("N(."),
	[]byte("\xff"),
}
