//go:build !(bcg729 && cgo)

package codec

import "fmt"

// G729Build says whether this build decodes G.729: the default build does
// not (libbcg729 is GPL-3); build with -tags bcg729 and Debian's
// libbcg729-dev to decode it. Without it, G.729 calls are recorded raw and
// flagged needs_transcode.
const G729Build = ""

func newG729() (Decoder, error) {
	return nil, fmt.Errorf("%w: G729 (build with -tags bcg729 and libbcg729-dev)", ErrUnsupported)
}
