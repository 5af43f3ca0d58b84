package siprec

import "strings"

// ContactFeature is the feature tag a recording server (SRS) puts in the
// Contact of its answers (RFC 7866 §6.1.1).
const ContactFeature = "+sip.srs"

// srcFeature is the feature tag of a recording client (RFC 7866 §6.1.1).
const srcFeature = "+sip.src"

// IsSIPREC reports whether an INVITE/UPDATE is a SIPREC recording session:
// the option tag "siprec" is in Require or Supported (each entry may itself
// be a comma-separated header value), contactParams (the Contact header
// value or just its parameters) carries the "+sip.src" feature tag, the
// Content-Type is rs-metadata itself, or body holds a metadata part.
func IsSIPREC(require, supported []string, contactParams string, contentType string, body *Body) bool {
	if hasOptionTag(require, "siprec") || hasOptionTag(supported, "siprec") {
		return true
	}
	if hasFeatureTag(contactParams, srcFeature) {
		return true
	}
	if isMetadataType(contentType) {
		return true
	}
	return body != nil && len(body.Metadata) > 0
}

func hasOptionTag(values []string, tag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// hasFeatureTag finds tag as a whole parameter name (";+sip.src",
// ";+sip.src=...", or the string being just the tag), case-insensitively.
func hasFeatureTag(s, tag string) bool {
	ls, lt := strings.ToLower(s), strings.ToLower(tag)
	for i := 0; ; {
		j := strings.Index(ls[i:], lt)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || strings.ContainsRune("; \t,>", rune(ls[j-1]))
		k := j + len(lt)
		after := k == len(ls) || strings.ContainsRune("; \t=,>\r\n", rune(ls[k]))
		if before && after {
			return true
		}
		i = j + 1
	}
}
