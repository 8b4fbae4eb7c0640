// Command wineshim writes bcryptprimitives.dll for Wine releases that lack
// it (Wine 8.0, Debian 12's): Go 1.22 and later call ProcessPrng from that
// DLL at startup, so without it no Go program starts under such a Wine.
//
// The DLL holds no code. Its one export, ProcessPrng, is forwarded to
// advapi32's SystemFunction036 (RtlGenRandom), which takes the same
// arguments (buffer, length) and returns TRUE on success; Go checks only
// the low byte of the result. It serves tests under Wine only.
//
// Usage: go run ./detectors/winreg/testdata/wineshim OUT.dll
package main

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"os"
)

const (
	fileAlign = 0x200
	sectRVA   = 0x1000
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wineshim OUT.dll")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], dll(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// exportDir is IMAGE_EXPORT_DIRECTORY.
type exportDir struct {
	Characteristics, TimeDateStamp                        uint32
	MajorVersion, MinorVersion                            uint16
	Name, Base, NumberOfFunctions, NumberOfNames          uint32
	AddressOfFunctions, AddressOfNames, AddressOfOrdinals uint32
}

// edata lays out the export section: the directory, its three one-entry
// tables, then the strings. A function RVA inside the export directory's
// range is a forwarder string, not code.
func edata() []byte {
	const dirSize = 40
	funcs, names, ords := sectRVA+dirSize, sectRVA+dirSize+4, sectRVA+dirSize+8
	strs := []string{"bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036"}
	rva := make([]uint32, len(strs))
	off := uint32(dirSize + 10)
	for i, s := range strs {
		rva[i] = sectRVA + off
		off += uint32(len(s) + 1)
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	binary.Write(&b, le, exportDir{Name: rva[0], Base: 1, NumberOfFunctions: 1, NumberOfNames: 1,
		AddressOfFunctions: uint32(funcs), AddressOfNames: uint32(names), AddressOfOrdinals: uint32(ords)})
	binary.Write(&b, le, []uint32{rva[2], rva[1]})
	binary.Write(&b, le, uint16(0))
	for _, s := range strs {
		b.WriteString(s + "\x00")
	}
	return b.Bytes()
}

func dll() []byte {
	ed := edata()
	var b bytes.Buffer
	le := binary.LittleEndian
	dos := make([]byte, 0x40)
	copy(dos, "MZ")
	le.PutUint32(dos[0x3c:], 0x40)
	b.Write(dos)
	b.WriteString("PE\x00\x00")
	binary.Write(&b, le, pe.FileHeader{
		Machine: pe.IMAGE_FILE_MACHINE_AMD64, NumberOfSections: 1,
		SizeOfOptionalHeader: uint16(binary.Size(pe.OptionalHeader64{})),
		Characteristics:      pe.IMAGE_FILE_EXECUTABLE_IMAGE | pe.IMAGE_FILE_LARGE_ADDRESS_AWARE | pe.IMAGE_FILE_DLL,
	})
	opt := pe.OptionalHeader64{
		Magic: 0x20b, SizeOfInitializedData: fileAlign, BaseOfCode: sectRVA,
		ImageBase: 0x180000000, SectionAlignment: 0x1000, FileAlignment: fileAlign,
		MajorOperatingSystemVersion: 6, MajorSubsystemVersion: 6,
		SizeOfImage: sectRVA + 0x1000, SizeOfHeaders: fileAlign,
		Subsystem: pe.IMAGE_SUBSYSTEM_WINDOWS_GUI, DllCharacteristics: pe.IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
		SizeOfStackReserve: 0x100000, SizeOfStackCommit: 0x1000,
		SizeOfHeapReserve: 0x100000, SizeOfHeapCommit: 0x1000,
		NumberOfRvaAndSizes: 16,
	}
	opt.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT] = pe.DataDirectory{VirtualAddress: sectRVA, Size: uint32(len(ed))}
	binary.Write(&b, le, opt)
	sect := pe.SectionHeader32{
		VirtualSize: uint32(len(ed)), VirtualAddress: sectRVA,
		SizeOfRawData: fileAlign, PointerToRawData: fileAlign,
		Characteristics: pe.IMAGE_SCN_CNT_INITIALIZED_DATA | pe.IMAGE_SCN_MEM_READ,
	}
	copy(sect.Name[:], ".edata")
	binary.Write(&b, le, sect)
	b.Write(make([]byte, fileAlign-b.Len()))
	b.Write(ed)
	b.Write(make([]byte, 2*fileAlign-b.Len()))
	return b.Bytes()
}
