package rule

import "strconv"

// Level is the severity of a [Log] line.
type Level int32

// The log levels, as the ABI's log import numbers them.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

var levelNames = [...]string{"DEBUG", "INFO", "WARN", "ERROR"}

// String returns the level's name, such as "WARN".
func (l Level) String() string {
	if l >= 0 && int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// Log writes a line to the gateway's log (and to TestRule's output) through
// the ABI's callgate_v1.log import. Outside WebAssembly, in a rule's unit
// tests, it writes "LEVEL msg" to standard error.
func Log(level Level, msg string) {
	writeLog(level, msg)
}
