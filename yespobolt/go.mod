module github.com/yespo-go/yespo/yespobolt

go 1.26

replace github.com/yespo-go/yespo => ../

require (
	go.etcd.io/bbolt v1.4.3 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
