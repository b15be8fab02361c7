package yesporedis_test

import (
	"net"
	"strconv"
)

// freePort returns a loopback port nothing listens on, for a Redis that is
// not there.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
