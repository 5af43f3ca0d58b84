//go:build !(amrwb && cgo)

package codec

import (
	"fmt"

	"github.com/openrec/openrec/internal/media"
)

// AMRWBBuild says whether this build decodes AMR-WB: the default build
// does not (no pure-Go decoder exists); build with -tags amrwb and
// Debian's libopencore-amrwb-dev to decode it. Without it, AMR-WB calls
// are recorded raw and flagged needs_transcode.
const AMRWBBuild = ""

func newAMRWB(media.Codec, int) (Decoder, error) {
	return nil, fmt.Errorf("%w: AMR-WB (build with -tags amrwb and libopencore-amrwb-dev)", ErrUnsupported)
}
