//go:build !linux && !windows && !darwin

package notice

import (
	"context"
	"errors"
)

type unsupported struct{}

// Default is the platform's shower: none here.
func Default() Shower { return unsupported{} }

func (unsupported) Show(context.Context, Message) (int, error) {
	return 0, errors.ErrUnsupported
}
