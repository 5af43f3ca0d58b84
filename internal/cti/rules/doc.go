// Package rules implements recording rules (selective recording): which
// calls openrec records (Record), records and keeps only on request
// (Pre-record) or must not record (Do not record). See docs/rules.md for
// the user documentation and seed 002 chapter 5 for the product behavior.
//
// The package is a pure core: it does no I/O except LoadFile, imports no
// other openrec package, and a compiled Set is immutable and safe for
// concurrent use.
//
// # Priority
//
// Groups are evaluated in order (the first group is Admin, the highest
// priority), and within a group its rules in order. The first rule that is
// not disabled, whose group scope matches the call and whose every set
// condition matches wins; if none does, the result is ActionNone. The
// conditions of a rule are ANDed and checked in this order (a trace names
// the first one that failed), after the disabled flag and the group scope
// (tenant, dns, agents): tenant (equal, case-insensitive), call_type
// (equal), mask, agent (some agent's ID or user name matches), person (some
// agent's user name, employee id or full name matches), userdata (every
// key attached and its value matching).
//
// # Mask grammar
//
//	mask = term { "," term }        spaces around terms and sides are ignored;
//	                                the mask matches if ANY term matches
//	term = "*"                      every call
//	     | side                     some party of the call matches (From, any To, any Parties)
//	     | side ">"                 calls made from: the caller (From) matches
//	     | ">" side                 calls made to: some called party (To) matches
//	     | side ">" side            both
//	     | side "=" side            calls between: two different parties of the call
//	                                match the two sides (either direction)
//	side = pattern | range
//	range = digits "-" digits       inclusive, both ends the same length: "2000-2999"
//	                                matches only numbers of that length
//	pattern: letters, digits and + # . _ @ - with wildcards
//	         "?" exactly one character and "*" zero or more characters, anywhere
//
// A '-' makes a range only when both ends are all digits ("SIP-7*" is a
// pattern). Matching is case-insensitive ("agent.b*" matches "Agent.Bob").
// The party list of "X" and "X=Y" is From, To..., Parties..., without empty
// entries and duplicates. In "X>" and ">Y" a side made only of '*' places
// no condition (">2005" and "*>2005" are the same). Examples (seed ch. 5):
// "200?" matches 2000-2009; "20??" 2000-2099; "2*" numbers starting with 2;
// "*2" numbers ending with 2; "2005>" calls from 2005; ">2005" calls to
// 2005; "2501=2525" calls between 2501 and 2525; "20??>" calls from 2000 to
// 2099; "2001,2002,7*" a list.
//
// Agent and person masks (RuleConfig.Agent, RuleConfig.Person,
// GroupConfig.Agents) are lists of patterns and ranges without ">" or "=";
// person patterns may also hold spaces and apostrophes ("Mary O'N*").
//
// Userdata value masks are a single pattern matched against the whole
// attached value, case-sensitively: "?" and "*" are wildcards and every
// other character (commas and spaces included) stands for itself; "" matches
// only an empty value and "*" any value. The key (matched exactly) must be
// attached.
package rules
