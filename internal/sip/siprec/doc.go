// Package siprec reads the bodies a Session Recording Client (an SBC, a PBX, a
// media server) sends to a recording server: the multipart/mixed body of a
// SIPREC INVITE (RFC 7866 §8) and its rs-metadata XML document (RFC 7865).
//
// It is a pure parser: no I/O, standard library only. Real SRCs differ from
// the RFCs, and the parsers accept what they send:
//
// Bodies (SplitBody):
//   - boundary taken from the Content-Type parameter, or detected from the
//     first "--" line when the parameter is missing or wrong;
//   - preamble / blank lines before the first boundary, trailing white space
//     after a delimiter (RFC 2046 transport padding), a missing closing
//     delimiter, LF or CRLF line ends, "Content-Type:" without a space, the
//     SIP compact header "c:", lying Content-Length headers inside parts
//     (ignored), parts in any order, extra parts (application/gtd ...);
//   - the SDP part is application/sdp, else the part whose body starts with
//     "v=0"; the metadata part is application/rs-metadata or
//     application/rs-metadata+xml, else Content-Disposition recording-session,
//     else any other part that starts with "<" (XML).
//
// Metadata (ParseMetadata):
//   - elements are matched by lower-cased local name whatever their
//     namespace or prefix: RFC 7865 "urn:ietf:params:xml:ns:recording:1",
//     pre-RFC "urn:ietf:params:xml:ns:recording", draft
//     "urn:ietf:params:xml:ns:siprec", prefixed ("tns:recording") or not; the
//     namespace found is kept in Metadata.Namespace;
//   - attribute names participant_id|id, session_id|session, stream_id|id,
//     group_id|id; <datamode> or <dataMode>; <sipSessionID>; <group-ref>;
//   - old-style participants that carry <send>/<recv> themselves and RFC
//     <participantstreamassoc> are both folded into Participant.Send/Recv;
//     <participantsessionassoc> and <sessionrecordingassoc> times go to the
//     participant / session;
//   - times are kept as the strings found;
//   - anything not understood is recorded in Metadata.Problems, never fatal;
//     malformed XML is salvaged as far as it goes and reported with
//     ErrInvalidMetadata.
//
// # Extension keys
//
// Vendor and standard extension elements (any child of recording, group,
// session or participant that is not an RFC 7865 element) are flattened into
// map[string]string with these stable rules:
//   - a path segment is the element name as written, "prefix:local" when the
//     document uses a prefix, else "local" (e.g. "apkt:ucid", "callData");
//   - a segment of an element with a "label" or "name" attribute gets the
//     value in brackets: <apkt:header label="Call-ID"><value>x</value> gives
//     "apkt:header[Call-ID]/value" = "x";
//   - Acme's <extensiondata> wrapper is transparent (not a segment);
//   - nested elements join with "/": "callData/callid"; a leaf's value is its
//     trimmed text; other attributes give "path@attr";
//   - a key that repeats within one map gets "#2", "#3" ... appended.
//
// Group, Session and Participant each keep their own Extensions.
// Metadata.Extensions gathers, in document order, the extensions of the
// recording element itself, of every group and of every session (not of
// participants, whose values such as apkt:callingParty differ per party), plus
// unknown children of streams. Metadata.CallUUID looks for the Genesys
// CallUUID under the names X-Genesys-CallUUID, GenesysUUID, Genesys-CallUUID,
// GenesysCallUUID and CallUUID in all of them.
package siprec
