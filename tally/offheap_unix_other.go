//go:build unix && !linux

package tally

// mapPopulate: elsewhere, a mapping's pages are backed as they are written (newFilledBlock).
const mapPopulate = 0
