//go:build !wasip1

package rule

import "os"

func writeLog(level Level, msg string) {
	os.Stderr.WriteString(level.String() + " " + msg + "\n")
}
