package pickle_test

import (
	"fmt"
	"log"
	"time"

	"github.com/mpbridge/mpbridge/pickle"
)

func ExampleMarshal() {
	type Item struct {
		ID    int      `pickle:"id"`
		Name  string   `pickle:"name"`
		Tags  []string `pickle:"tags"`
		Price float64  `pickle:"price,omitempty"`
	}
	data, err := pickle.Marshal(Item{ID: 12345, Name: "widget", Tags: []string{"a", "b"}})
	if err != nil {
		log.Fatal(err)
	}
	// What Python's pickle.loads(data) returns:
	v, err := pickle.Loads(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pickle.Repr(v))
	// Output:
	// {'id': 12345, 'name': 'widget', 'tags': ['a', 'b']}
}

func ExampleUnmarshal() {
	// pickle.dumps({'id': 7, 'user_name': 'ann', 'roles': ['admin'],
	//               'last_seen': datetime.datetime(2024, 5, 6, 7, 8, 9)})
	data := []byte("\x80\x04\x95f\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02id\x94K\x07\x8c\x09user_name\x94\x8c\x03ann\x94\x8c\x05roles\x94]\x94\x8c\x05admin\x94a\x8c\x09last_seen\x94\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\x0a\x07\xe8\x05\x06\x07\x08\x09\x00\x00\x00\x94\x85\x94R\x94u.")
	var user struct {
		ID       int       `pickle:"id"`
		UserName string    // matches "user_name": case, '_' and '-' are ignored
		Roles    []string  `pickle:"roles"`
		LastSeen time.Time `pickle:"last_seen"`
	}
	if err := pickle.Unmarshal(data, &user); err != nil {
		log.Fatal(err)
	}
	fmt.Println(user.ID, user.UserName, user.Roles)
	fmt.Println(user.LastSeen, pickle.IsNaive(user.LastSeen))
	// Output:
	// 7 ann [admin]
	// 2024-05-06 07:08:09 +0000 +0000 true
}

func Example_structTags() {
	type Base struct {
		Created time.Time `pickle:"created"`
	}
	type Doc struct {
		Base               // embedded: its fields are promoted
		Title    string    `pickle:"title"`
		Draft    bool      `pickle:"draft,omitempty"` // left out when false
		Internal string    `pickle:"-"`               // never pickled
		Parent   *Doc      `pickle:"parent"`          // nil → None
		Due      time.Time `pickle:"due,omitzero"`    // left out when zero
	}
	d := Doc{Base: Base{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}, Title: "t", Internal: "x"}
	m, err := pickle.ModelOf(d, pickle.DefaultProtocol)
	if err != nil {
		log.Fatal(err)
	}
	js, _ := pickle.ToJSON(m)
	fmt.Println(string(js))
	// Output:
	// {"created":{"$datetime":"2024-01-02T03:04:05+00:00"},"title":"t","parent":null}
}

func Example_time() {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range []time.Time{
		time.Date(2024, 1, 2, 3, 4, 5, 0, pickle.Naive),               // datetime(2024, 1, 2, 3, 4, 5)
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),                   // tzinfo=timezone.utc
		time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("", 5*3600)), // tzinfo=timezone(timedelta(hours=5))
		time.Date(2024, 1, 2, 3, 4, 5, 0, paris),                      // tzinfo=ZoneInfo('Europe/Paris'), Python 3.9+
		pickle.FixedOffset(time.Date(2024, 1, 2, 3, 4, 5, 0, paris)),  // the same instant for Python 3.8
	} {
		data, err := pickle.Marshal(t)
		if err != nil {
			log.Fatal(err)
		}
		var back time.Time
		if err := pickle.Unmarshal(data, &back); err != nil {
			log.Fatal(err)
		}
		m, _ := pickle.Loads(data)
		js, _ := pickle.ToJSON(m)
		fmt.Println(string(js), back.Equal(t))
	}
	// The 2:30 that happens twice when Paris leaves summer time: fold=1 is the second.
	data := []byte("\x80\x04\x95~\x00\x00\x00\x00\x00\x00\x00\x8c\x08datetime\x94\x8c\x08datetime\x94\x93\x94C\x0a\x07\xe8\x8a\x1b\x02\x1e\x00\x00\x00\x00\x94\x8c\x08builtins\x94\x8c\x07getattr\x94\x93\x94\x8c\x08zoneinfo\x94\x8c\x08ZoneInfo\x94\x93\x94\x8c\x09_unpickle\x94\x86\x94R\x94\x8c\x0cEurope/Paris\x94K\x01\x86\x94R\x94\x86\x94R\x94.")
	var second time.Time
	if err := pickle.Unmarshal(data, &second); err != nil {
		log.Fatal(err)
	}
	fmt.Println(second.UTC())

	var d time.Duration
	data, _ = pickle.Marshal(90 * time.Minute) // datetime.timedelta(seconds=5400)
	_ = pickle.Unmarshal(data, &d)
	fmt.Println(d)
	// Output:
	// {"$datetime":"2024-01-02T03:04:05"} true
	// {"$datetime":"2024-01-02T03:04:05+00:00"} true
	// {"$datetime":"2024-01-02T03:04:05+05:00"} true
	// {"$datetime":"2024-01-02T03:04:05+01:00[Europe/Paris]"} true
	// {"$datetime":"2024-01-02T03:04:05+01:00"} true
	// 2024-10-27 01:30:00 +0000 UTC
	// 1h30m0s
}

// Point is the Go side of the Python class shapes.Point.
type Point struct {
	X int `pickle:"x"`
	Y int `pickle:"y"`
}

func ExampleRegister() {
	pickle.Register("shapes", "Point", Point{})

	// pickle.dumps([shapes.Point(1, 2), shapes.Point(3, 4)])
	data := []byte("\x80\x04\x95>\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x06shapes\x94\x8c\x05Point\x94\x93\x94)\x81\x94}\x94(\x8c\x01x\x94K\x01\x8c\x01y\x94K\x02ubh\x03)\x81\x94}\x94(h\x06K\x03h\x07K\x04ube.")
	var points []any
	if err := pickle.Unmarshal(data, &points); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", points)

	// Encoding a Point writes what Python writes for shapes.Point(5, 6).
	out, err := pickle.Marshal(Point{5, 6})
	if err != nil {
		log.Fatal(err)
	}
	m, _ := pickle.Loads(out)
	js, _ := pickle.ToJSON(m)
	fmt.Println(string(js))
	// Output:
	// [{X:1 Y:2} {X:3 Y:4}]
	// {"$object":{"callable":{"$global":"shapes:Point"},"kind":"newobj","args":[],"state":{"x":5,"y":6}}}
}

// Celsius marshals as the Python class weather.Celsius(value), without
// registration, because it implements PythonClass.
type Celsius float64

// PythonClass names the Python class.
func (Celsius) PythonClass() (module, name string) { return "weather", "Celsius" }

func ExamplePythonClass() {
	out, err := pickle.Marshal(Celsius(21.5))
	if err != nil {
		log.Fatal(err)
	}
	m, _ := pickle.Loads(out)
	js, _ := pickle.ToJSON(m)
	fmt.Println(string(js))
	// Output:
	// {"$object":{"callable":{"$global":"weather:Celsius"},"args":[21.5]}}
}

func ExampleToJSON() {
	// The value model of Python's (b'\x00', {1: 'one'}, len):
	v := pickle.Tuple{[]byte{0}, mustDict(1, "one"), pickle.Global{Module: "builtins", Name: "len"}}
	js, err := pickle.ToJSON(v)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(js))
	// Output:
	// {"$tuple":[{"$bytes":"AA=="},{"$dict":[[1,"one"]]},{"$global":"builtins:len"}]}
}

func mustDict(k, v any) *pickle.Dict {
	d := pickle.NewDict(1)
	if err := d.Set(k, v); err != nil {
		log.Fatal(err)
	}
	return d
}

func ExampleFromJSON() {
	v, err := pickle.FromJSON([]byte(`{"id": 1, "at": {"$datetime": "2024-01-02T03:04:05Z"}, "key": {"$tuple": [1, 2.0]}}`))
	if err != nil {
		log.Fatal(err)
	}
	var msg struct {
		ID  int       `pickle:"id"`
		At  time.Time `pickle:"at"`
		Key [2]any    `pickle:"key"`
	}
	if err := pickle.Convert(v, &msg); err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.ID, msg.At, msg.Key)
	// Output:
	// 1 2024-01-02 03:04:05 +0000 UTC [1 2]
}
