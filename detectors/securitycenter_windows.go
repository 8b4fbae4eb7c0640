package detectors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-ole/go-ole"
	"github.com/yusufpapurcu/wmi"
)

// wscTimeout bounds the WMI query when the caller set no earlier
// deadline: a wedged WMI service must not hold up the scan.
const wscTimeout = 30 * time.Second

// queryAntiVirusProducts asks WMI for the products registered with the
// Security Center. The query runs in its own goroutine, as a WMI call
// cannot be cancelled; on timeout that goroutine finishes on its own.
func queryAntiVirusProducts(ctx context.Context) ([]wscProduct, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("WMI %s: %w", wscNamespace, err)
	}
	ctx, cancel := context.WithTimeout(ctx, wscTimeout)
	defer cancel()
	type result struct {
		products []wscProduct
		err      error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		// A property WMI leaves out or null reads as empty rather than
		// failing the whole product.
		c := &wmi.Client{AllowMissingFields: true, NonePtrZero: true}
		// "." is the local machine, as a nil server is; Wine's
		// ConnectServer takes only a string there (DISP_E_TYPEMISMATCH).
		r.err = c.Query(wscQuery, &r.products, ".", wscNamespace)
		done <- r
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("WMI %s: %w", wscNamespace, ctx.Err())
	case r := <-done:
		if wscMissing(r.err) {
			return nil, &Unavailable{Reason: wscUnavailable}
		}
		if r.err != nil {
			return r.products, fmt.Errorf("WMI %s %q: %w", wscNamespace, wscQuery, r.err)
		}
		return r.products, nil
	}
}

// wscMissing says whether err is WMI saying the namespace or class does
// not exist. Through IDispatch the WBEM code arrives as the exception's
// SCODE under DISP_E_EXCEPTION.
func wscMissing(err error) bool {
	var oe *ole.OleError
	if !errors.As(err, &oe) {
		return false
	}
	if wscMissingCode(uint32(oe.Code())) {
		return true
	}
	ex, ok := oe.SubError().(ole.EXCEPINFO)
	return ok && wscMissingCode(ex.SCODE())
}
