package detectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// kextPolicyDB is where macOS 10.13+ records the user's answers to "System
// software from developer X was blocked from loading" (SQLite, table
// kext_policy). An approval outlives the kext it was for, so a row is
// evidence even after the kext is gone.
const kextPolicyDB = "var/db/SystemPolicyConfiguration/KextPolicy"

// kextPolicyItems reads the approvals from a copy of the database, as
// rpm.go does: the driver opens host files only, and must not touch the
// scanned system's file.
func kextPolicyItems(ctx context.Context, env *Env) ([]Item, error) {
	db := macVarPath(env.Root, kextPolicyDB)
	if _, err := fs.Stat(env.Root, db); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	tmp, err := os.MkdirTemp(env.TempDir, "banwatch-kextpolicy-")
	if err != nil {
		return nil, fmt.Errorf("%s: temporary copy: %w", kextPolicyDB, err)
	}
	defer os.RemoveAll(tmp)
	local := filepath.Join(tmp, "KextPolicy")
	if err := copyOut(env.Root, db, local); err != nil {
		return nil, err
	}
	if err := copyOut(env.Root, db+"-wal", local+"-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	items, err := readKextPolicy(ctx, local)
	if err != nil {
		return items, fmt.Errorf("%s: %w", kextPolicyDB, err)
	}
	return items, nil
}

func readKextPolicy(ctx context.Context, local string) ([]Item, error) {
	if err := foldSQLiteWAL(ctx, local); err != nil {
		return nil, err
	}
	db, err := openSQLite(local, "mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT coalesce(team_id, ''), coalesce(bundle_id, ''),
		coalesce(allowed, 0), coalesce(developer_name, '') FROM kext_policy ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []Item
	for rows.Next() {
		if len(items) == maxPlistFiles {
			return items, fmt.Errorf("more than %d approvals, read the first %d", maxPlistFiles, maxPlistFiles)
		}
		var team, bundle, developer string
		var allowed bool
		if err := rows.Scan(&team, &bundle, &allowed, &developer); err != nil {
			return items, err
		}
		items = append(items, kextPolicyItem(team, bundle, developer, allowed))
	}
	return items, rows.Err()
}

func kextPolicyItem(team, bundle, developer string, allowed bool) Item {
	it := Item{Kind: KindDriver, Name: bundle, BundleID: bundle, Publisher: team,
		Path: kextPolicyDB, State: StateDisabled, Detail: "kext approval, not allowed"}
	if allowed {
		it.State, it.Detail = StateEnabled, "kext approval, allowed"
	}
	if developer != "" {
		it.Attrs = map[string]string{"developer": developer}
	}
	return it
}
