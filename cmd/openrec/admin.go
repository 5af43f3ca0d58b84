package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openrec/openrec/internal/store"
	"github.com/openrec/openrec/internal/store/backend"
	"github.com/openrec/openrec/internal/web/auth"
)

// Errors of the admin commands.
var (
	errUserExists    = errors.New("user already exists")
	errUserNotFound  = errors.New("no such user")
	errTenantNeeded  = errors.New("--tenant is required for this role")
	errNoPassword    = errors.New("a password is required: --password-file FILE, or --password - to read it from standard input")
	errTwoPasswords  = errors.New("give one of them")
	errEmptyPassword = errors.New("no password on standard input")
	errEmptyPwFile   = errors.New("the password file is empty")
)

// newAdminCmd returns `openrec admin` with create-user, list-users and
// set-password.
func newAdminCmd() *cobra.Command {
	var loc storeLoc
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage the users of the REST API and web UI",
		Long: `Manage the users of the REST API and web UI, stored in <data-dir>/` + dbFileName + `.

Roles: admin (every tenant, users and rules), supervisor (the recordings of
one tenant), agent (their own recordings). Supervisors and agents need --tenant.
The commands may run while "openrec serve" is using the database.`,
		SilenceUsage: true,
	}
	loc.addFlags(cmd.PersistentFlags(), "data directory (database and media)")
	cmd.AddCommand(newAdminCreateUserCmd(&loc), newAdminListUsersCmd(&loc), newAdminSetPasswordCmd(&loc))
	return cmd
}

func newAdminCreateUserCmd(loc *storeLoc) *cobra.Command {
	var name, password, passwordFile, role, tenant, agentID string
	cmd := &cobra.Command{
		Use:   "create-user --name NAME (--password-file FILE | --password -) --role admin|supervisor|agent [--tenant T] [--agent-id ID]",
		Short: "Create a user (creates the database in a new data directory)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Check everything before the database is opened (and maybe
			// created): a bad command line leaves nothing behind.
			if err := auth.ValidUserName(name); err != nil {
				return fmt.Errorf("--name: %w", err)
			}
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			tenant = strings.TrimSpace(tenant)
			if r.NeedsTenant() && tenant == "" {
				return fmt.Errorf("user %s: role %s: %w", name, r, errTenantNeeded)
			}
			pw, err := readPassword(cmd, password, passwordFile)
			if err != nil {
				return err
			}
			hash, err := auth.HashPassword(pw)
			if err != nil {
				return fmt.Errorf("--password: %w", err)
			}
			ctx := cmd.Context()
			db, err := openStore(ctx, *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			u := &store.User{Name: name, Role: string(r), Tenant: tenant, AgentID: agentID, PasswordHash: hash}
			if err := db.CreateUser(ctx, u); err != nil {
				if errors.Is(err, store.ErrExists) {
					return fmt.Errorf("user %s: %w (names ignore case) in %s", name, errUserExists, loc.where())
				}
				return err
			}
			desc := describeUser(u)
			if err := appendCLIAudit(ctx, db, store.AuditEntry{Tenant: tenant, Action: store.AuditUserChange,
				Detail: "created user " + desc}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s\n", desc)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "user name: 1 to 64 of A-Z a-z 0-9 . _ @ - (required)")
	fl.StringVar(&password, "password", "", `password, at least 8 characters; "-" reads it from standard input (a password given here is visible in the process list)`)
	fl.StringVar(&passwordFile, "password-file", "", "read the password from the first line of this file")
	fl.StringVar(&role, "role", "", "admin, supervisor or agent (required)")
	fl.StringVar(&tenant, "tenant", "", "the user's tenant (required for supervisor and agent)")
	fl.StringVar(&agentID, "agent-id", "", "the agent's id, to find their own recordings")
	_ = cmd.MarkFlagRequired("name")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// describeUser returns "NAME (role R[, tenant T])".
func describeUser(u *store.User) string {
	s := fmt.Sprintf("%s (role %s", u.Name, u.Role)
	if u.Tenant != "" {
		s += ", tenant " + u.Tenant
	}
	return s + ")"
}

// readPassword returns the password of --password-file (its first line),
// of --password - (the first line of standard input) or of --password
// itself, with a warning: a command line is visible in the process list.
func readPassword(cmd *cobra.Command, flag, file string) (string, error) {
	if flag == "" && file == "" {
		return "", errNoPassword
	}
	return readSecret(cmd, "password", flag, file)
}

// readSecret reads a secret given by the flags --NAME (a value, or "-" for
// the first line of standard input, which warns: a command line is
// visible in the process list) and --NAME-file (the file's first line).
// Neither set gives "".
func readSecret(cmd *cobra.Command, name, flag, file string) (string, error) {
	switch {
	case flag != "" && file != "":
		return "", fmt.Errorf("--%s and --%s-file: %w", name, name, errTwoPasswords)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("--%s-file: %w", name, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if line = strings.TrimRight(line, "\r"); line == "" {
			return "", fmt.Errorf("--%s-file %s: %w", name, file, errEmptyPwFile)
		}
		return line, nil
	case flag == "":
		return "", nil
	case flag != "-":
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: a password on the command line is visible in the process list and shell history: use --%s-file FILE or --%s -\n", name, name)
		return flag, nil
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errEmptyPassword
	}
	return line, nil
}

func newAdminListUsersCmd(loc *storeLoc) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list-users",
		Short: "List the users, by name",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			users, err := listStored(cmd, *loc, func(ctx context.Context, db backend.Store) ([]store.User, error) {
				return db.ListUsers(ctx)
			})
			if err != nil {
				return err
			}
			if asJSON {
				views := make([]store.UserView, 0, len(users))
				for i := range users {
					views = append(views, store.NewUserView(&users[i]))
				}
				return writeJSON(cmd.OutOrStdout(), views)
			}
			return writeUsersTable(cmd.OutOrStdout(), users)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array")
	return cmd
}

func writeUsersTable(w io.Writer, users []store.User) error {
	rows := make([][]string, 0, len(users))
	for _, u := range users {
		state := "enabled"
		if u.Disabled {
			state = "disabled"
		}
		rows = append(rows, []string{u.Name, u.Role, dash(u.Tenant), dash(u.AgentID), state, fmtTime(u.CreatedAt)})
	}
	return writeRows(w, "users", "NAME\tROLE\tTENANT\tAGENT ID\tSTATE\tCREATED", rows)
}

func newAdminSetPasswordCmd(loc *storeLoc) *cobra.Command {
	var name, password, passwordFile string
	cmd := &cobra.Command{
		Use:   "set-password --name NAME (--password-file FILE | --password -)",
		Short: "Set a user's password and end their sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			pw, err := readPassword(cmd, password, passwordFile)
			if err != nil {
				return err
			}
			hash, err := auth.HashPassword(pw)
			if err != nil {
				return fmt.Errorf("--password: %w", err)
			}
			ctx := cmd.Context()
			db, err := openExistingStore(ctx, *loc)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.GetUser(ctx, name)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %s: %w in %s", name, errUserNotFound, loc.where())
			}
			if err != nil {
				return err
			}
			u.PasswordHash = hash
			if err := db.UpdateUser(ctx, u); err != nil {
				return err
			}
			// Whoever knew the old password is logged out.
			n, err := db.DeleteUserSessions(ctx, u.Name)
			if err != nil {
				return err
			}
			if err := appendCLIAudit(ctx, db, store.AuditEntry{Tenant: u.Tenant, Action: store.AuditUserChange,
				Detail: "set password of " + u.Name}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password set for user %s (%d sessions ended)\n", u.Name, n)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&name, "name", "", "user name, any case (required)")
	fl.StringVar(&password, "password", "", `new password, at least 8 characters; "-" reads it from standard input (a password given here is visible in the process list)`)
	fl.StringVar(&passwordFile, "password-file", "", "read the new password from the first line of this file")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}

// cliActor names the person running the CLI in the audit log: "cli:$USER",
// or "cli" when USER is not set.
func cliActor() string {
	if u := os.Getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

// appendCLIAudit appends e to db's audit log as done by cliActor().
func appendCLIAudit(ctx context.Context, db backend.Store, e store.AuditEntry) error {
	e.User = cliActor()
	if _, err := db.AppendAudit(ctx, e); err != nil {
		return fmt.Errorf("write the audit log: %w", err)
	}
	return nil
}
