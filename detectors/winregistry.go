package detectors

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/banwatch/banwatch/detectors/winreg"
)

func init() {
	register(Spec{Name: "windows-registry", OS: []string{"windows"}, Detector: DetectorFunc(detectRegistryKeys)})
}

// Bounds, so that a broad pattern cannot turn into a registry walk.
const (
	maxKeyMatches = 256
	maxKeyValues  = 64
	maxValueText  = 256
)

// detectRegistryKeys looks up the registry keys the policy names
// (Env.RegistryKeys: HKLM\SOFTWARE\KasperskyLab\protected\*\environment)
// and reports each with its values, the way the files detector reports
// folders: the policy decides what they mean.
func detectRegistryKeys(ctx context.Context, env *Env) ([]Item, error) {
	if env.Registry == nil {
		return nil, errors.New("no Windows registry to read")
	}
	var items []Item
	var errs []error
	seen := map[string]bool{}
	for _, pattern := range env.RegistryKeys {
		if err := ctx.Err(); err != nil {
			return items, err
		}
		keys, err := expandKeyPattern(ctx, env.Registry, pattern)
		errs = append(errs, err)
		for _, k := range keys {
			if seen[strings.ToLower(k.Path())] {
				continue
			}
			seen[strings.ToLower(k.Path())] = true
			it, err := registryKeyItem(k)
			errs = append(errs, err)
			items = append(items, it)
		}
	}
	return items, errors.Join(errs...)
}

// expandKeyPattern opens the keys a pattern names: HKLM, a machine hive,
// then key names in which * and ? match within one name.
func expandKeyPattern(ctx context.Context, reg winreg.Machine, pattern string) ([]winreg.Key, error) {
	parts := strings.Split(pattern, `\`)
	if len(parts) < 3 || !strings.EqualFold(parts[0], "HKLM") {
		return nil, fmt.Errorf("registry key pattern %q: want HKLM\\<hive>\\...", pattern)
	}
	hive, err := reg.Hive(ctx, strings.ToUpper(parts[1]))
	if err != nil {
		return nil, err
	}
	keys := []winreg.Key{hive}
	var errs []error
	for _, elem := range parts[2:] {
		var next []winreg.Key
		for _, k := range keys {
			next = append(next, matchSubkeys(k, elem, &errs)...)
		}
		if len(next) > maxKeyMatches {
			errs = append(errs, fmt.Errorf("registry key pattern %q: %d matches, kept the first %d", pattern, len(next), maxKeyMatches))
			next = next[:maxKeyMatches]
		}
		keys = next
	}
	return keys, errors.Join(errs...)
}

// matchSubkeys opens the subkeys of k whose names match elem, without
// regard to case. A literal name is opened directly.
func matchSubkeys(k winreg.Key, elem string, errs *[]error) []winreg.Key {
	if !strings.ContainsAny(elem, "*?[") {
		sub, err := k.Open(elem)
		if err != nil {
			if !winreg.IsNotExist(err) {
				*errs = append(*errs, err)
			}
			return nil
		}
		return []winreg.Key{sub}
	}
	names, err := k.Subkeys()
	*errs = append(*errs, err)
	var out []winreg.Key
	for _, n := range names {
		if ok, _ := path.Match(strings.ToLower(elem), strings.ToLower(n)); !ok {
			continue
		}
		sub, err := k.Open(n)
		if err != nil {
			*errs = append(*errs, err)
			continue
		}
		out = append(out, sub)
	}
	return out
}

// registryKeyItem reports a key with its values as attributes. A value
// named ProductVersion gives the item's version.
func registryKeyItem(k winreg.Key) (Item, error) {
	vals, err := k.Values()
	it := Item{Kind: KindRegistryKey, Name: k.Path(), Path: k.Path(), State: StatePresent,
		Attrs: map[string]string{}}
	sort.Slice(vals, func(i, j int) bool { return strings.ToLower(vals[i].Name) < strings.ToLower(vals[j].Name) })
	var shown []string
	for i, v := range vals {
		if i == maxKeyValues {
			break
		}
		s, ok := v.String()
		if !ok {
			continue
		}
		if len(s) > maxValueText {
			s = strings.ToValidUTF8(s[:maxValueText], "")
		}
		it.Attrs[v.Name] = s
		if strings.EqualFold(v.Name, "ProductVersion") {
			it.Version = s
		}
		if len(shown) < 4 {
			shown = append(shown, v.Name+"="+s)
		}
	}
	it.Detail = fmt.Sprintf("registry key, %d values", len(vals))
	if len(shown) > 0 {
		it.Detail += ": " + strings.Join(shown, ", ")
	}
	return it, err
}
