package detectors

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// checkSQLite checks what go-rpmdb's sqlite backend trusts. Its Read
// runs "SELECT blob FROM Packages" and, on a failed query, a failed Scan
// (a NULL blob) or a header that fails to import, reports the error and
// carries on sending, which blocks it for good, holding the connection,
// once ListPackages has returned. It ignores rows.Err, so a damaged table
// would silently lose packages.
func checkSQLite(ctx context.Context, local string) error {
	if err := foldSQLiteWAL(ctx, local); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	db, err := openSQLite(local, "mode=ro&immutable=1")
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	defer db.Close()
	if err := checkSQLiteTable(ctx, db); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	if err := checkSQLiteBlobs(ctx, db); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// sqliteURI names local as an SQLite URI with query q.
func sqliteURI(local, q string) (string, error) {
	abs, err := filepath.Abs(local)
	if err != nil {
		return "", err
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	return (&url.URL{Scheme: "file", Path: p, RawQuery: q}).String(), nil
}

// openSQLite opens local through the driver go-rpmdb uses.
func openSQLite(local, q string) (*sql.DB, error) {
	uri, err := sqliteURI(local, q)
	if err != nil {
		return nil, err
	}
	return sql.Open("sqlite", uri)
}

// foldSQLiteWAL checkpoints a copied -wal file into the copy. go-rpmdb
// opens the copy read-write and so reads the WAL; the immutable
// connection that checks it would not. Folding it first makes both read
// the same bytes.
func foldSQLiteWAL(ctx context.Context, local string) error {
	if _, err := os.Stat(local + "-wal"); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := openSQLite(local, "")
	if err != nil {
		return err
	}
	defer db.Close()
	var busy, frames, done int
	err = db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &frames, &done)
	if err != nil {
		return fmt.Errorf("checkpoint the WAL: %w", err)
	}
	if busy != 0 || frames != done {
		return fmt.Errorf("checkpoint the WAL: %d of %d frames copied", done, frames)
	}
	return nil
}

// checkSQLiteTable checks that Packages is a plain table with a plain
// blob column: a view, a virtual table or a generated column would run
// the database's own SQL, which can return endless rows or huge values.
func checkSQLiteTable(ctx context.Context, db *sql.DB) error {
	var typ string
	var root int64
	err := db.QueryRowContext(ctx, `SELECT type, rootpage FROM sqlite_schema
		WHERE name = 'Packages' COLLATE NOCASE`).Scan(&typ, &root)
	if err != nil {
		return fmt.Errorf("table Packages: %w", err)
	}
	if typ != "table" || root <= 0 {
		return fmt.Errorf("Packages is a %s with root page %d, not a table", typ, root)
	}
	var hidden int
	err = db.QueryRowContext(ctx, `SELECT hidden FROM pragma_table_xinfo('Packages')
		WHERE name = 'blob' COLLATE NOCASE`).Scan(&hidden)
	if err != nil {
		return fmt.Errorf("column Packages.blob: %w", err)
	}
	if hidden != 0 {
		return fmt.Errorf("Packages.blob is a hidden or generated column")
	}
	return nil
}

// checkSQLiteBlobs checks every header, after bounding their sizes
// without reading them.
func checkSQLiteBlobs(ctx context.Context, db *sql.DB) error {
	var rows, longest, other int64
	err := db.QueryRowContext(ctx, `SELECT count(*), coalesce(max(length(blob)), 0),
		count(*) - count(CASE WHEN typeof(blob) = 'blob' THEN 1 END) FROM Packages`).Scan(&rows, &longest, &other)
	switch {
	case err != nil:
		return fmt.Errorf("table Packages: %w", err)
	case longest > maxRPMHeader:
		return fmt.Errorf("a header blob of %d bytes, over the %d-byte limit", longest, maxRPMHeader)
	case other > 0:
		return fmt.Errorf("%d of %d rows in Packages hold no blob", other, rows)
	}
	// The query go-rpmdb runs, so the rows come the same way.
	r, err := db.QueryContext(ctx, "SELECT blob FROM Packages")
	if err != nil {
		return fmt.Errorf("table Packages: %w", err)
	}
	defer r.Close()
	var headers rpmHeaders
	for n := 1; r.Next(); n++ {
		var b sql.RawBytes
		if err := r.Scan(&b); err != nil {
			return fmt.Errorf("Packages row %d: %w", n, err)
		}
		if err := headers.check(b); err != nil {
			return fmt.Errorf("Packages row %d: %w", n, err)
		}
	}
	if err := r.Err(); err != nil {
		return fmt.Errorf("table Packages: %w", err)
	}
	return nil
}
