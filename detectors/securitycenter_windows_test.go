package detectors

import (
	"context"
	"errors"
	"testing"
)

// TestQueryAntiVirusProductsLive runs on any Windows: a desktop lists its
// products (Defender at least), a server says WSC is unavailable.
func TestQueryAntiVirusProductsLive(t *testing.T) {
	products, err := queryAntiVirusProducts(context.Background())
	var un *Unavailable
	if errors.As(err, &un) {
		t.Skipf("no Security Center here: %v", un)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range products {
		it := securityProductItem(p.DisplayName, p.PathToSignedProductExe, p.ProductState)
		t.Logf("%s (%s): %s %v", it.Name, it.Exec, it.Detail, it.Attrs)
	}
}

func TestQueryAntiVirusProductsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := queryAntiVirusProducts(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}
