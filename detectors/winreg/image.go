package winreg

import (
	"context"
	"errors"
	"io/fs"
)

// OpenImage returns the registry of the offline Windows image under root.
func OpenImage(root fs.FS) Machine { return &image{root: root} }

type image struct{ root fs.FS }

func (m *image) Hive(ctx context.Context, name string) (Key, error) { return nil, errors.New("not yet") }
func (m *image) Users(ctx context.Context) ([]User, error)         { return nil, errors.New("not yet") }
func (m *image) Close() error                                       { return nil }
