package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version may be set at build time (-ldflags "-X main.version=v1.2.3");
// otherwise it comes from the build information Go records.
var version = ""

// buildVersion is the version of this binary: the one set at build time,
// else the main module's version from the build information (Go stamps
// it from the VCS tag or commit when building in a checkout), else "dev".
func buildVersion(set string, bi *debug.BuildInfo) string {
	if set != "" {
		return set
	}
	if bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// versionLine is what `omnicart version` prints: the version, the Go
// version and platform, and the commit when the build recorded one.
func versionLine() string {
	bi := readBuildInfo()
	return formatVersion(buildVersion(version, bi), bi)
}

// readBuildInfo is the binary's build information, or nil.
func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

func formatVersion(v string, bi *debug.BuildInfo) string {
	parts := []string{runtime.Version(), runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" {
			c := "commit " + rev
			if modified == "true" {
				c += " (modified)"
			}
			if at != "" {
				c += " of " + at
			}
			parts = append(parts, c)
		}
	}
	return fmt.Sprintf("omnicart %s (%s)", v, strings.Join(parts, ", "))
}
