package manager

// ring is a FIFO of pickled items in a growable circular buffer. It
// releases its backing array when it drains, so a queue that once held a
// million items goes back to a few bytes.
type ring struct {
	buf  [][]byte
	head int
	n    int
}

const ringMin = 16

func (r *ring) len() int { return r.n }

func (r *ring) grow() {
	size := 2 * len(r.buf)
	if size < ringMin {
		size = ringMin
	}
	r.resize(size)
}

func (r *ring) resize(size int) {
	nb := make([][]byte, size)
	if r.n > 0 {
		if r.head+r.n <= len(r.buf) {
			copy(nb, r.buf[r.head:r.head+r.n])
		} else {
			k := copy(nb, r.buf[r.head:])
			copy(nb[k:], r.buf[:r.n-k])
		}
	}
	r.buf, r.head = nb, 0
}

// push appends p at the back.
func (r *ring) push(p []byte) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)%len(r.buf)] = p
	r.n++
}

// pushFront puts p back at the front (an item that could not be delivered).
func (r *ring) pushFront(p []byte) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head = (r.head - 1 + len(r.buf)) % len(r.buf)
	r.buf[r.head] = p
	r.n++
}

// pop removes and returns the front item; the ring must not be empty.
func (r *ring) pop() []byte {
	p := r.buf[r.head]
	r.buf[r.head] = nil
	r.head = (r.head + 1) % len(r.buf)
	r.n--
	r.shrink()
	return p
}

// shrink halves the buffer when it is at most a quarter full, and drops it
// entirely once empty.
func (r *ring) shrink() {
	switch {
	case r.n == 0:
		if len(r.buf) > ringMin {
			r.buf, r.head = nil, 0
		}
	case len(r.buf) > ringMin && r.n <= len(r.buf)/4:
		r.resize(len(r.buf) / 2)
	}
}

// clear drops every item.
func (r *ring) clear() { r.buf, r.head, r.n = nil, 0, 0 }
