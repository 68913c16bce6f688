package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/ukehi/placement"
)

// policyBody is GET and PUT /policy: the planner's Policy in the library's
// JSON form (every field), and MaxActionsPerTick.
type policyBody struct {
	Policy            placement.Policy `json:"policy"`
	MaxActionsPerTick int              `json:"max_actions_per_tick"`
	// Replicated reports (GET only) whether the settings come from the log
	// (PUT /policy) rather than this server's own configuration.
	Replicated bool `json:"replicated"`
}

func (h *handler) getPolicy(w http.ResponseWriter, _ *http.Request) {
	p, n, replicated := h.opts.Scheduler.Settings()
	writeJSON(w, http.StatusOK, policyBody{Policy: p, MaxActionsPerTick: n, Replicated: replicated})
}

// putPolicy proposes SetPolicy: the whole Policy (take GET /policy, change
// what you need, PUT it back) and MaxActionsPerTick, for every server.
func (h *handler) putPolicy(w http.ResponseWriter, r *http.Request) {
	data, ok := readBody(w, r)
	if !ok {
		return
	}
	cmd, err := parsePolicyRequest(data)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !h.proposeOne(w, r, cmd) {
		return
	}
	p, n, replicated := h.opts.Scheduler.Settings()
	writeJSON(w, http.StatusOK, policyBody{Policy: p, MaxActionsPerTick: n, Replicated: replicated})
}

// parsePolicyRequest decodes and checks PUT /policy's body, {"policy":
// {...}, "max_actions_per_tick": n}, strictly: those keys once each (GET
// /policy's "replicated" may come along and is ignored, so that its answer
// can be sent back as it is), the policy in placement.Policy's JSON form
// with every field, and values that Policy.Validate accepts. Every error
// names the field at fault by its JSON path ("policy.move_timeout",
// "max_actions_per_tick") and never a Go type.
func parsePolicyRequest(data []byte) (placement.SetPolicy, error) {
	var c placement.SetPolicy
	members, err := objectMembers(data)
	if err != nil {
		return c, err
	}
	if err := checkNames(members, []string{"policy", "max_actions_per_tick", "replicated"}, ""); err != nil {
		return c, err
	}
	for _, name := range []string{"policy", "max_actions_per_tick"} {
		if members[name] == nil {
			return c, fmt.Errorf("%s: missing; send the form GET /policy answers", name)
		}
	}
	fields, err := objectMembers(members["policy"])
	if err != nil {
		return c, fmt.Errorf("policy: %w", err)
	}
	if err := checkNames(fields, policyFields, "policy"); err != nil {
		return c, err
	}
	for _, name := range policyFields {
		if fields[name] == nil {
			return c, fmt.Errorf("policy.%s: missing; every field of GET /policy's form is required", name)
		}
	}
	if err := json.Unmarshal(members["policy"], &c.Policy); err != nil {
		return c, policyValueError(err)
	}
	n, err := strconv.ParseInt(string(members["max_actions_per_tick"]), 10, 32)
	if err != nil || n < 1 {
		return c, fmt.Errorf("max_actions_per_tick: want an integer from 1 to %d", math.MaxInt32)
	}
	c.MaxActionsPerTick = int(n)
	if err := c.Policy.Validate(); err != nil {
		return c, errors.New(policyError(err))
	}
	return c, nil
}

// policyFields are the names of placement.Policy's JSON form, in its order.
var policyFields = func() []string {
	data, err := json.Marshal(placement.DefaultPolicy())
	if err != nil {
		panic(err) // the default policy has a JSON form
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var names []string
	var value json.RawMessage
	for tok, err := dec.Token(); err == nil && dec.More(); tok, err = dec.Token() {
		if tok != json.Delim('{') {
			names = append(names, tok.(string))
			_ = dec.Decode(&value)
		}
	}
	return names
}()

// checkNames refuses a member of members whose name is not in known; in
// names the object at path ("" for the body).
func checkNames(members map[string]json.RawMessage, known []string, in string) error {
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if !slices.Contains(known, name) {
			if in != "" {
				return fmt.Errorf("%s: unknown field %s (names are case-sensitive)", in, echo(name))
			}
			return fmt.Errorf("unknown field %s (names are case-sensitive)", echo(name))
		}
	}
	return nil
}

// objectMembers splits one JSON object into its members, refusing a name
// that appears twice.
func objectMembers(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("want an object, got %s", describeToken(tok))
	}
	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		name := tok.(string) // the decoder allows only strings here
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("duplicate field %s", echo(name))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, syntaxError(err)
		}
		members[name] = raw
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the JSON object")
	}
	return members, nil
}

// libraryField finds the field that placement.Policy's decoder names in its
// error: `field "stop_band": want a number`.
var libraryField = regexp.MustCompile(`field "([a-z_]+)": (.*)$`)

// policyValueError rewords the library's error for a policy value of the
// wrong kind as "policy.stop_band: want a number". Its names and kinds were
// checked before, so its message holds the field and what it takes.
func policyValueError(err error) error {
	m := libraryField.FindStringSubmatch(err.Error())
	if m == nil {
		return errors.New("policy: does not fit the form GET /policy answers")
	}
	return fmt.Errorf("policy.%s: %s", m[1], m[2])
}

// goPolicyField matches a field of placement.Policy in Policy.Validate's
// message, as "Policy.StopBand" or "ImbalanceThreshold".
var goPolicyField = regexp.MustCompile(`(Policy\.)?\b[A-Z][A-Za-z]+\b`)

// policyError rewrites Policy.Validate's message, "Policy.StopBand 0.9
// above ImbalanceThreshold 0.2", with the JSON names a client sent:
// "policy.stop_band: 0.9 above imbalance_threshold 0.2".
func policyError(err error) string {
	msg := strings.TrimPrefix(err.Error(), placement.ErrInvalidConfig.Error()+": ")
	if first, rest, ok := strings.Cut(msg, " "); ok && strings.HasPrefix(first, "Policy.") {
		msg = first + ": " + rest
	}
	t := reflect.TypeOf(placement.Policy{})
	return goPolicyField.ReplaceAllStringFunc(msg, func(m string) string {
		name := strings.TrimPrefix(m, "Policy.")
		if _, ok := t.FieldByName(name); !ok {
			return m
		}
		if name != m {
			return "policy." + snakeCase(name)
		}
		return snakeCase(name)
	})
}

// snakeCase turns a Go field name into the JSON form's name.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
