package api

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/openrec/openrec/internal/store"
)

// Problem is an RFC 9457 problem detail; as an error it carries the HTTP
// status a handler answers with.
type Problem struct {
	Type   string `json:"type,omitempty"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Title + ": " + p.Detail
	}
	return p.Title
}

// The kinds of error an adapter returns (wrapped with NotFound, Conflict,
// BadRequest or Unprocessable) so that the API chooses the answer: the
// adapters know their domain's errors, the API alone knows HTTP.
var (
	ErrNotFound      = errors.New("not found")     // 404
	ErrConflict      = errors.New("conflict")      // 409
	ErrBadRequest    = errors.New("bad request")   // 400
	ErrUnprocessable = errors.New("unprocessable") // 422
)

// kindError is err classified as kind: its text is err's, and it matches
// both with errors.Is/As.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// NotFound classifies err as the client naming something that does not
// exist (or that it may not see): 404.
func NotFound(err error) error { return &kindError{ErrNotFound, err} }

// Conflict classifies err as a request the current state refuses: 409.
func Conflict(err error) error { return &kindError{ErrConflict, err} }

// BadRequest classifies err as a malformed request: 400.
func BadRequest(err error) error { return &kindError{ErrBadRequest, err} }

// Unprocessable classifies err as a well-formed request whose content is
// invalid: 422.
func Unprocessable(err error) error { return &kindError{ErrUnprocessable, err} }

// problemf returns a problem with the standard title of status.
func problemf(status int, detail string) *Problem {
	return &Problem{Status: status, Title: http.StatusText(status), Detail: detail}
}

// writeProblem answers with p as application/problem+json.
func writeProblem(w http.ResponseWriter, _ *http.Request, p *Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// fail answers with the problem for err: a *Problem as it is, the kinds
// above and the store sentinels mapped to their status, anything else a 500 whose cause is
// logged, never shown.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	switch {
	case errors.As(err, &p):
	case errors.Is(err, ErrNotFound):
		p = problemf(http.StatusNotFound, err.Error())
	case errors.Is(err, ErrConflict):
		p = problemf(http.StatusConflict, err.Error())
	case errors.Is(err, ErrBadRequest):
		p = problemf(http.StatusBadRequest, err.Error())
	case errors.Is(err, ErrUnprocessable):
		p = problemf(http.StatusUnprocessableEntity, err.Error())
	case errors.Is(err, store.ErrNotFound):
		p = problemf(http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrInvalid):
		p = problemf(http.StatusBadRequest, err.Error())
	case errors.Is(err, store.ErrExists), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrNotPending):
		p = problemf(http.StatusConflict, err.Error())
	default:
		s.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		p = problemf(http.StatusInternalServerError, "the server could not complete the request; see its log")
	}
	writeProblem(w, r, p)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// maxBody bounds JSON request bodies.
const maxBody = 1 << 20

// readJSON decodes a JSON request body into v, rejecting unknown fields
// and anything after the value. A request carrying a session cookie must
// declare the body application/json: a cross-site HTML form cannot send
// that, so it cannot post credentials or changes (login CSRF). A request
// authenticated by a bearer token involves no cookie (a browser never adds
// the header by itself), so its JSON may come undeclared, as `curl -d`
// sends it (see readJSONBody).
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	p := principalOf(r)
	return readJSONBody(w, r, v, p != nil && !p.cookie)
}

// readJSONBody is readJSON with the choice made by the caller: lenient
// accepts a JSON body sent without a content type or as
// application/x-www-form-urlencoded or text/plain (what curl -d and simple
// scripts send); a multipart form is refused either way.
func readJSONBody(w http.ResponseWriter, r *http.Request, v any, lenient bool) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	ok := err == nil && mt == "application/json"
	if lenient && !ok {
		ok = r.Header.Get("Content-Type") == "" || mt == "application/x-www-form-urlencoded" || mt == "text/plain"
	}
	if !ok {
		return problemf(http.StatusUnsupportedMediaType, "the request body must be JSON with Content-Type: application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return problemf(http.StatusBadRequest, "invalid JSON body: "+err.Error())
	}
	if dec.More() {
		return problemf(http.StatusBadRequest, "invalid JSON body: data after the JSON value")
	}
	return nil
}
