// Wrapper module: builds the etcd server v3.6.16. Its own module, so Kubernetes' grpc/otel
// versions never raise etcd's.
module hostns.io/controlplane/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
