package tally

import "syscall"

// mapPopulate backs a mapping with memory as it is made (newFilledBlock).
const mapPopulate = syscall.MAP_POPULATE
