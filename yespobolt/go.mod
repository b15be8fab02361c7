module github.com/yespo-go/yespo/yespobolt

go 1.26

require (
	github.com/stretchr/testify v1.12.1
	github.com/yespo-go/yespo v0.4.0
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/hashicorp/go-retryablehttp v0.7.8 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
