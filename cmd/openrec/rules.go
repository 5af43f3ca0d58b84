package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/cti/rules"
)

// newRulesCmd returns `openrec rules` with explain and check.
func newRulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Check recording rules and explain their decision for a call",
		Long: `Check the recording rules of a serve YAML file (its rules: key) and explain
which rule decides a call and why. See docs/rules.md.`,
		SilenceUsage: true,
	}
	cmd.AddCommand(newRulesExplainCmd(), newRulesCheckCmd())
	return cmd
}

// loadRules reads and compiles the rules of a serve file.
func loadRules(path string) (*rules.Set, error) {
	cfg, err := rules.LoadFile(path)
	if err != nil {
		return nil, err
	}
	return rules.Compile(cfg)
}

// rulesExplainJSON is the --json output of `openrec rules explain`.
type rulesExplainJSON struct {
	Action      rules.Action `json:"action"`
	Rule        string       `json:"rule"`
	Group       string       `json:"group"`
	Geo         string       `json:"geo,omitempty"`
	Dest        string       `json:"dest,omitempty"`
	Dest2       string       `json:"dest2,omitempty"`
	AudioSrc    string       `json:"audiosrc,omitempty"`
	ToneSilence string       `json:"tone_silence,omitempty"`
	Trace       []rules.Step `json:"trace"`
	Warnings    []string     `json:"warnings"`
}

func newRulesExplainCmd() *cobra.Command {
	var (
		config, person, employeeID, fullName string
		agents, userdata                     []string
		f                                    rules.Facts
		asJSON                               bool
	)
	cmd := &cobra.Command{
		Use:   "explain --config FILE --from DN --to DN [flags]",
		Short: "Show which rule decides a call, and why",
		Long: `Evaluate the rules of a serve file for the call described by the flags and
print every rule considered (why it matched or the first condition that
failed), the decision and the warnings of the rule set.`,
		Example: `  openrec rules explain --config openrec.yaml --from 2001 --to 5551234
  openrec rules explain --config openrec.yaml --from 3001 --to 4001 --userdata Segment=VIP-gold --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ud, err := parseUserDataFlags(userdata)
			if err != nil {
				return err
			}
			f.UserData = ud
			f.Agents = rulesAgents(agents, person, employeeID, fullName)
			set, err := loadRules(config)
			if err != nil {
				return err
			}
			res := set.Evaluate(f)
			warnings := set.Warnings()
			if asJSON {
				if warnings == nil {
					warnings = []string{}
				}
				trace := res.Trace
				if trace == nil {
					trace = []rules.Step{}
				}
				return writeJSON(cmd.OutOrStdout(), rulesExplainJSON{
					Action: res.Action, Rule: res.Rule, Group: res.Group,
					Geo: res.Geo, Dest: res.Dest, Dest2: res.Dest2, AudioSrc: res.AudioSrc, ToneSilence: res.ToneSilence,
					Trace: trace, Warnings: warnings,
				})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintln(out, res.String())
			printRulesWarnings(out, warnings)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&config, "config", "", "serve YAML file with a rules: key (required)")
	fl.StringVar(&f.From, "from", "", "the party that made the call (ANI or the dialing DN)")
	fl.StringArrayVar(&f.To, "to", nil, "a party the call was made to (DNIS, called DN); repeatable")
	fl.StringArrayVar(&f.Parties, "party", nil, "another party on the call (conference member); repeatable")
	fl.StringArrayVar(&agents, "agent", nil, "an agent on the call: its AgentID (login code); repeatable")
	fl.StringVar(&person, "person", "", "the user name of the (first) agent's person")
	fl.StringVar(&employeeID, "employee-id", "", "the employee id of the (first) agent's person")
	fl.StringVar(&fullName, "full-name", "", "the full name of the (first) agent's person")
	fl.StringArrayVar(&userdata, "userdata", nil, "attached data KEY=VALUE; repeatable")
	fl.StringVar(&f.CallType, "call-type", "", "inbound, outbound, internal or consult")
	fl.StringVar(&f.Tenant, "tenant", "", "the call's tenant")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

func newRulesCheckCmd() *cobra.Command {
	var config string
	cmd := &cobra.Command{
		Use:   "check --config FILE",
		Short: "Validate the recording rules of a serve file and print warnings",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			set, err := loadRules(config)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "%s in %s\n", rulesPlural(set.Len(), "rule"), rulesPlural(len(set.Config().Groups), "group"))
			printRulesWarnings(out, set.Warnings())
			return nil
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "serve YAML file with a rules: key (required)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// parseUserDataFlags turns KEY=VALUE flags into attached data; VALUE may
// hold '=' and be empty.
func parseUserDataFlags(kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	ud := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--userdata %q: want KEY=VALUE", kv)
		}
		ud[k] = v
	}
	return ud, nil
}

// rulesAgents builds the agents of the call: one per --agent, and the
// person flags describe the first one (or an agent without ID).
func rulesAgents(ids []string, userName, employeeID, fullName string) []rules.Agent {
	var as []rules.Agent
	for _, id := range ids {
		as = append(as, rules.Agent{ID: id})
	}
	if userName == "" && employeeID == "" && fullName == "" {
		return as
	}
	if len(as) == 0 {
		as = append(as, rules.Agent{})
	}
	as[0].UserName, as[0].EmployeeID, as[0].FullName = userName, employeeID, fullName
	return as
}

func printRulesWarnings(w io.Writer, ws []string) {
	for _, s := range ws {
		fmt.Fprintln(w, "warning:", s)
	}
}

func rulesPlural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
