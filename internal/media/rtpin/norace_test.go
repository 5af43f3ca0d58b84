//go:build !race

package rtpin

const raceEnabled = false
