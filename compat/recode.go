package compat

// Encoder is a value with a protobuf wire encoding: every raftpb type of
// both libraries.
type Encoder interface {
	Marshal() ([]byte, error)
}

// Decoder is a value that can be reset and filled from a wire encoding:
// a pointer to any raftpb type of either library.
type Decoder interface {
	Reset()
	Unmarshal([]byte) error
}

// Recode resets dst and decodes into it the wire encoding of src. It is how
// a value crosses from one library to the other: the encodings are
// byte-identical, so src and dst then describe the same value, except that
// an empty non-nil repeated field becomes nil (the encoding cannot tell them
// apart). It returns src's marshalling error or dst's decoding error.
func Recode(dst Decoder, src Encoder) error {
	b, err := src.Marshal()
	if err != nil {
		return err
	}
	dst.Reset()
	return dst.Unmarshal(b)
}
