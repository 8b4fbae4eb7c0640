package detectors

import (
	"context"
	"fmt"
	"strings"
)

// The Windows Security Center lists the anti-virus products registered
// with it, whoever installed them, with their own report of whether they
// are on and up to date. It is a second opinion beside the registry; WSC
// has no offline form and Windows Server has none at all.

func init() {
	register(Spec{Name: "security-center", Live: true, OS: []string{"windows"},
		Detector: securityCenter{query: queryAntiVirusProducts}})
}

const (
	wscNamespace = `root\SecurityCenter2`
	wscQuery     = "SELECT displayName, pathToSignedProductExe, productState FROM AntiVirusProduct"
	// wscSource is the evidence path of every security product item.
	wscSource = wscNamespace + `\AntiVirusProduct`

	wscUnavailable = "Windows Security Center is not available on this machine (Windows Server editions have none); the registry sources carry the verdict"
)

// wscProduct is one AntiVirusProduct instance. The field names are the
// WMI property names, which the WMI library matches them by.
type wscProduct struct {
	DisplayName            string
	PathToSignedProductExe string
	ProductState           uint32
}

// securityCenter is the detector; query is the WMI call, replaced in tests.
type securityCenter struct {
	query func(ctx context.Context) ([]wscProduct, error)
}

// Detect reports every registered anti-virus product. When WSC does not
// exist the query returns *Unavailable, which Run turns into a skip.
func (s securityCenter) Detect(ctx context.Context, env *Env) ([]Item, error) {
	products, err := s.query(ctx)
	items := make([]Item, 0, len(products))
	for _, p := range products {
		items = append(items, securityProductItem(p.DisplayName, p.PathToSignedProductExe, p.ProductState))
	}
	return items, err
}

// ProductState is a decoded WSC productState. The encoding is
// undocumented (Microsoft gives it out under NDA only); these are the
// masks that tools in the community agree on.
type ProductState struct {
	// Enabled is "on", "off", "snoozed", "expired" or "unknown".
	Enabled string
	// Signatures is "up-to-date", "out-of-date" or "unknown". The product
	// reports it itself: one cut off from updates may say up-to-date
	// until its own staleness limit passes.
	Signatures string
	// ThirdParty is false for Microsoft's own products (Defender).
	ThirdParty bool
}

// DecodeProductState decodes an AntiVirusProduct productState.
func DecodeProductState(state uint32) ProductState {
	return ProductState{
		Enabled:    wscEnabled(state & 0xF000),
		Signatures: wscSignatures(state & 0x00F0),
		ThirdParty: state&0x0F00 == 0,
	}
}

func wscEnabled(bits uint32) string {
	switch bits {
	case 0x0000:
		return "off"
	case 0x1000:
		return "on"
	case 0x2000:
		return "snoozed"
	case 0x3000:
		return "expired"
	}
	return "unknown"
}

func wscSignatures(bits uint32) string {
	switch bits {
	case 0x00:
		return "up-to-date"
	case 0x10:
		return "out-of-date"
	}
	return "unknown"
}

// securityProductItem is the item for one registered product. productExe
// is its pathToSignedProductExe.
func securityProductItem(displayName, productExe string, state uint32) Item {
	ps := DecodeProductState(state)
	return Item{
		Kind:   KindSecurityProduct,
		Name:   displayName,
		Path:   wscSource,
		Exec:   productExe,
		State:  StateInstalled,
		Detail: fmt.Sprintf("Security Center: %s, signatures %s", ps.Enabled, strings.ReplaceAll(ps.Signatures, "-", " ")),
		Attrs: map[string]string{
			"wsc_state":         ps.Enabled,
			"wsc_signatures":    ps.Signatures,
			"wsc_product_state": fmt.Sprintf("0x%06x", state),
		},
	}
}

// wscMissingCode says whether a WMI HRESULT means that Security Center's
// namespace (WBEM_E_INVALID_NAMESPACE) or class (WBEM_E_INVALID_CLASS)
// does not exist, as on Windows Server.
func wscMissingCode(hr uint32) bool {
	return hr == 0x8004100E || hr == 0x80041010
}
