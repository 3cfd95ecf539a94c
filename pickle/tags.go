package pickle

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// field is one Go struct field as the mapping layer sees it: the dict key
// it maps to and how to reach it through embedded structs.
type field struct {
	name      string       // dict key (tag name or Go field name)
	fold      string       // name lower-cased without '_' and '-', for lenient matching
	index     []int        // path through embedded structs (reflect.Value.FieldByIndex)
	typ       reflect.Type // the field's type
	tagged    bool         // the name came from a tag
	omitEmpty bool         // `pickle:",omitempty"`: skip false, 0, "", nil and empty containers
	omitZero  bool         // `pickle:",omitzero"`: skip the zero value (or IsZero() == true)
}

// structFields is the cached field list of one struct type.
type structFields struct {
	list   []field        // in Go declaration order (embedded fields flattened in place)
	byName map[string]int // exact dict key → index in list
	byFold map[string]int // folded key → index in list (first wins)
}

var fieldCache sync.Map // reflect.Type → *structFields

// cachedFields returns the fields of struct type t, computed once per type.
func cachedFields(t reflect.Type) *structFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(*structFields)
	}
	f, _ := fieldCache.LoadOrStore(t, typeFields(t))
	return f.(*structFields)
}

// foldName is the lenient form of a key: ASCII lower case with '_' and '-'
// removed, so that the Python key "user_id" finds the Go field UserID.
func foldName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// parseTag splits a `pickle:"name,opt,opt"` tag.
func parseTag(tag string) (name string, opts []string) {
	name, rest, _ := strings.Cut(tag, ",")
	if rest != "" {
		opts = strings.Split(rest, ",")
	}
	return name, opts
}

// typeFields lists the fields of struct type t following encoding/json's
// rules: exported fields only; `pickle:"-"` skips a field; the fields of an
// untagged embedded struct (or pointer to struct) are promoted; among
// fields with the same name the shallowest wins, then the tagged one, and
// a remaining tie hides the name altogether.
func typeFields(t reflect.Type) *structFields {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var all []field
	current := []queued{}
	next := []queued{{typ: t}}
	visited := map[reflect.Type]bool{}
	for len(next) > 0 {
		current, next = next, current[:0]
		// Count names per depth level to detect conflicts at the same depth.
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := 0; i < q.typ.NumField(); i++ {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("pickle")
				if tag == "-" {
					continue
				}
				name, opts := parseTag(tag)
				index := make([]int, len(q.index)+1)
				copy(index, q.index)
				index[len(q.index)] = i
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct && !isSpecialStruct(ft) {
					next = append(next, queued{typ: ft, index: index})
					continue
				}
				if !sf.IsExported() {
					continue // an unexported embedded struct with a tag name
				}
				f := field{name: name, index: index, typ: sf.Type, tagged: name != ""}
				if f.name == "" {
					f.name = sf.Name
				}
				f.fold = foldName(f.name)
				for _, o := range opts {
					switch o {
					case "omitempty":
						f.omitEmpty = true
					case "omitzero":
						f.omitZero = true
					}
				}
				all = append(all, f)
			}
		}
	}
	// Pick the dominant field for every name.
	slices.SortStableFunc(all, func(a, b field) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.index), len(b.index)); c != 0 {
			return c
		}
		if a.tagged != b.tagged {
			if a.tagged {
				return -1
			}
			return 1
		}
		return 0
	})
	var out []field
	for i := 0; i < len(all); {
		j := i + 1
		for j < len(all) && all[j].name == all[i].name {
			j++
		}
		if f, ok := dominantField(all[i:j]); ok {
			out = append(out, f)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b field) int { return slices.Compare(a.index, b.index) })
	sf := &structFields{list: out, byName: make(map[string]int, len(out)), byFold: make(map[string]int, len(out))}
	for i, f := range out {
		sf.byName[f.name] = i
		if _, dup := sf.byFold[f.fold]; !dup {
			sf.byFold[f.fold] = i
		}
	}
	return sf
}

// dominantField picks the field that wins among fields sharing a name
// (sorted shallowest first, tagged first): the single shallowest one, or
// the single tagged one among the shallowest. Anything else is a conflict
// and the name is dropped, as encoding/json does.
func dominantField(fs []field) (field, bool) {
	if len(fs) > 1 && len(fs[0].index) == len(fs[1].index) && fs[0].tagged == fs[1].tagged {
		return field{}, false
	}
	return fs[0], true
}

// lookup finds the field for dict key k: exact match first, then the
// lenient folded match.
func (sf *structFields) lookup(k string) (*field, bool) {
	if i, ok := sf.byName[k]; ok {
		return &sf.list[i], true
	}
	if i, ok := sf.byFold[foldName(k)]; ok {
		return &sf.list[i], true
	}
	return nil, false
}
