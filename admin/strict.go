package admin

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ukehi/placement"
)

// maxEcho bounds how much of a client's input an error message repeats:
// at most maxEcho bytes of it, and at most maxEcho bytes between the quotes
// once escaped (a binary key escapes to four bytes a byte). Longer input is
// cut and marked with an ellipsis.
const maxEcho = 64

// echo returns s quoted for an error message, cut as maxEcho says (at a
// rune boundary if s is UTF-8) and followed by "…" when cut.
func echo(s string) string {
	valid := utf8.ValidString(s)
	return cutQuoted(len(s), func(n int) (string, bool) {
		return strconv.Quote(s[:n]), n == len(s) || !valid || utf8.RuneStart(s[n])
	})
}

// echoKey returns key quoted as placement.QuoteKey does, cut as maxEcho
// says and followed by "…" when cut.
func echoKey(key []byte) string {
	return cutQuoted(len(key), func(n int) (string, bool) { return placement.QuoteKey(key[:n]), true })
}

// cutQuoted returns the quoted form of the longest prefix, of at most
// maxEcho of the n input bytes, whose quoted form has at most maxEcho
// bytes between its quotes; quote says whether a prefix length is a place
// to cut.
func cutQuoted(n int, quote func(int) (string, bool)) string {
	for k := min(n, maxEcho); ; k-- {
		q, ok := quote(k)
		if k == 0 || ok && len(q) <= maxEcho+2 {
			if k < n {
				q += "…"
			}
			return q
		}
	}
}

// echoRange returns r as KeyRange.String does, each key cut as echoKey
// cuts it.
func echoRange(r placement.KeyRange) string {
	end := "+inf"
	if r.End != nil {
		end = echoKey(r.End)
	}
	return "[" + echoKey(r.Start) + ", " + end + ")"
}

// maxNewID is the largest ID a request may create (a node's ID in POST
// /nodes, a shard's in POST /shards): IDs then fit a signed 64-bit integer
// in any client, and IDs of 2^63 and above are reserved. An ID that names
// something existing may be any the map holds, so that a node added before
// this rule can still be drained and removed.
const maxNewID = math.MaxInt64

// nodeIDRule states the range of node IDs. Every message about a node ID,
// in a path or a body, ends with it, so that none states another.
const nodeIDRule = "node IDs run from 1 to 18446744073709551615; a new node's is at most 9223372036854775807 (2^63-1), larger ones are reserved"

// nodeIDType is the type whose values the strict decoder describes with
// nodeIDRule.
var nodeIDType = reflect.TypeFor[placement.NodeID]()

// parseID parses an ID in a path: canonical decimal only, that is digits
// with no sign, no leading zero and no other base, from 1 to 2^64-1.
func parseID(s string) (uint64, error) {
	canonical := s != "" && s[0] != '0' && len(s) <= len("18446744073709551615")
	for i := 0; canonical && i < len(s); i++ {
		canonical = '0' <= s[i] && s[i] <= '9'
	}
	if canonical {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil {
			return id, nil
		}
	}
	return 0, fmt.Errorf("%s: want a decimal integer without sign or leading zeros", echo(s))
}

// pathNodeID parses the {id} of a node path, answering 400 itself if it
// is not canonical.
func pathNodeID(w http.ResponseWriter, r *http.Request) (placement.NodeID, bool) {
	id, err := parseID(r.PathValue("id"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "node ID "+err.Error()+"; "+nodeIDRule)
		return 0, false
	}
	return placement.NodeID(id), true
}

// decodeStrict decodes data, which must be exactly one JSON object, into
// v, a pointer to a request struct. It is stricter than encoding/json:
// field names must match the struct's json tags exactly, case included,
// and appear once; unknown fields, trailing data and null (except for an
// array or a base64 key, where null means none) are errors; integers must
// be JSON integers in range, and keys canonical standard base64. Its
// errors name the field by its JSON path and never a Go type, and repeat
// at most maxEcho bytes of the input.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	t := reflect.TypeOf(v).Elem()
	if err := checkValue(dec, t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	// The input is known to fit v's form, so this cannot fail but for a
	// case the check missed; its error would name Go types, so it is not
	// repeated.
	full := json.NewDecoder(bytes.NewReader(data))
	full.DisallowUnknownFields()
	if err := full.Decode(v); err != nil {
		return errors.New("the body does not fit the endpoint's form")
	}
	return nil
}

// checkValue reads the next JSON value from dec and checks it against t.
func checkValue(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	where := "the body"
	if path != "" {
		where = "field " + strconv.Quote(path)
	}
	// A pointer is an optional value: null leaves it nil, anything else
	// is checked as what it points to.
	for t.Kind() == reflect.Pointer {
		if tok == nil {
			return nil
		}
		t = t.Elem()
	}
	mismatch := func() error {
		return fmt.Errorf("%s: want %s, got %s", where, describeType(t), describeToken(tok))
	}
	isBytes := t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8
	if tok == nil {
		if path != "" && t.Kind() == reflect.Slice {
			return nil // an absent list or key
		}
		return mismatch()
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return skipMismatch(dec, tok, mismatch())
		}
		return checkObject(dec, t, path)
	case reflect.Slice:
		if isBytes {
			s, ok := tok.(string)
			if !ok {
				return skipMismatch(dec, tok, mismatch())
			}
			if _, err := base64.StdEncoding.Strict().DecodeString(s); err != nil {
				return fmt.Errorf("%s: not standard base64", where)
			}
			return nil
		}
		if tok != json.Delim('[') {
			return skipMismatch(dec, tok, mismatch())
		}
		for i := 0; dec.More(); i++ {
			if err := checkValue(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return syntaxError(err)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return skipMismatch(dec, tok, mismatch())
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return skipMismatch(dec, tok, mismatch())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := tok.(json.Number)
		if !ok {
			return skipMismatch(dec, tok, mismatch())
		}
		if _, err := strconv.ParseUint(string(n), 10, t.Bits()); err != nil {
			return fmt.Errorf("%s: want %s", where, describeType(t))
		}
	case reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return skipMismatch(dec, tok, mismatch())
		}
		if _, err := strconv.ParseFloat(string(n), 64); err != nil {
			return fmt.Errorf("%s: want %s", where, describeType(t))
		}
	default:
		return fmt.Errorf("%s: not decodable", where) // a request type the checker does not know
	}
	return nil
}

// checkObject checks the members of an object whose opening brace dec has
// read against the struct type t.
func checkObject(dec *json.Decoder, t reflect.Type, path string) error {
	fields := jsonFields(t)
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		name := tok.(string) // the decoder allows only strings here
		full := name
		if path != "" {
			full = path + "." + name
		}
		ft, ok := fields[name]
		switch {
		case !ok:
			if path != "" {
				return fmt.Errorf("unknown field %s in %q (names are case-sensitive)", echo(name), path)
			}
			return fmt.Errorf("unknown field %s (names are case-sensitive)", echo(name))
		case seen[name]:
			return fmt.Errorf("duplicate field %q", full)
		}
		seen[name] = true
		if err := checkValue(dec, ft, full); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return syntaxError(err)
}

// skipMismatch reads the rest of a value whose first token was tok (an
// object or array, or nothing more for a scalar) and returns mismatch,
// unless the rest is malformed: a syntax error comes first.
func skipMismatch(dec *json.Decoder, tok json.Token, mismatch error) error {
	if d, ok := tok.(json.Delim); ok && (d == '{' || d == '[') {
		for depth := 1; depth > 0; {
			tok, err := dec.Token()
			if err != nil {
				return syntaxError(err)
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
		}
	}
	return mismatch
}

// syntaxError rewords a decoder error: an early end of input, or the
// decoder's own syntax error, which names at most one character.
func syntaxError(err error) error {
	var se *json.SyntaxError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errors.New("the JSON ends early")
	case errors.As(err, &se):
		return fmt.Errorf("%v (at byte %d)", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	}
	return errors.New("not JSON")
}

// jsonFields maps the JSON names of t's exported fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// describeType names what a JSON value of Go type t must be, in JSON's
// words.
func describeType(t reflect.Type) string {
	if t == nodeIDType {
		return "a node ID (" + nodeIDRule + ")"
	}
	switch t.Kind() {
	case reflect.Struct:
		return "an object"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<(t.Bits()-1)<<1-1)
	case reflect.Float64:
		return "a number"
	}
	return "a value"
}

// describeToken names a JSON token's kind.
func describeToken(tok json.Token) string {
	switch v := tok.(type) {
	case nil:
		return "null"
	case json.Delim:
		if v == '{' {
			return "an object"
		}
		return "an array"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	}
	return "a number"
}
