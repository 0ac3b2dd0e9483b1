// goplugin-echo: the first peer, HashiCorp go-plugin, timing the
// same ~100-byte echo ph_bench times through plughost. One binary is both
// sides: run plainly it is the host, which starts itself again as the
// plugin (go-plugin's magic cookie tells the two apart), over net/rpc or
// gRPC, and prints "p50_ns p99_ns" of single round trips.
//
//	goplugin-echo netrpc|grpc PAYLOAD ITERS WARMUP
//
// PH_PEER_CHILD_CPU=N starts the plugin under `taskset -c N` (ph_bench's
// two-core placement); otherwise the plugin inherits the host's CPUs.
package main

import (
	"context"
	"fmt"
	"io/ioutil"
	"log"
	"net/rpc"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/golang/protobuf/ptypes/wrappers"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

var handshake = plugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "PH_BENCH_PEER",
	MagicCookieValue: "echo",
}

// Echo is what the plugin serves: its argument back, unchanged.
type Echo interface {
	Echo(in []byte) ([]byte, error)
}

type echoImpl struct{}

func (echoImpl) Echo(in []byte) ([]byte, error) { return in, nil }

// ---- net/rpc ----

type rpcServer struct{ impl Echo }

func (s *rpcServer) Echo(in []byte, out *[]byte) error {
	r, err := s.impl.Echo(in)
	*out = r
	return err
}

type rpcClient struct{ c *rpc.Client }

func (c *rpcClient) Echo(in []byte) ([]byte, error) {
	var out []byte
	err := c.c.Call("Plugin.Echo", in, &out)
	return out, err
}

type rpcPlugin struct{ impl Echo }

func (p *rpcPlugin) Server(*plugin.MuxBroker) (interface{}, error) {
	return &rpcServer{p.impl}, nil
}

func (*rpcPlugin) Client(_ *plugin.MuxBroker, c *rpc.Client) (interface{}, error) {
	return &rpcClient{c}, nil
}

// ---- gRPC, with a hand-written service over protobuf's BytesValue (no
// protoc step: Debian's packages have no generated echo service) ----

type grpcEchoServer interface {
	Echo(context.Context, *wrappers.BytesValue) (*wrappers.BytesValue, error)
}

type grpcServerImpl struct{ impl Echo }

func (s *grpcServerImpl) Echo(_ context.Context, in *wrappers.BytesValue) (*wrappers.BytesValue, error) {
	r, err := s.impl.Echo(in.Value)
	return &wrappers.BytesValue{Value: r}, err
}

func echoHandler(srv interface{}, ctx context.Context, dec func(interface{}) error,
	_ grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(wrappers.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	return srv.(grpcEchoServer).Echo(ctx, in)
}

var echoDesc = grpc.ServiceDesc{
	ServiceName: "phbench.Echo",
	HandlerType: (*grpcEchoServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Echo", Handler: echoHandler}},
	Metadata:    "phbench",
}

type grpcClientImpl struct{ conn *grpc.ClientConn }

func (c *grpcClientImpl) Echo(in []byte) ([]byte, error) {
	out := new(wrappers.BytesValue)
	err := c.conn.Invoke(context.Background(), "/phbench.Echo/Echo",
		&wrappers.BytesValue{Value: in}, out)
	return out.Value, err
}

type grpcPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	impl Echo
}

func (p *grpcPlugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	s.RegisterService(&echoDesc, &grpcServerImpl{p.impl})
	return nil
}

func (*grpcPlugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (interface{}, error) {
	return &grpcClientImpl{c}, nil
}

// One kind per set: go-plugin 1.0 picks the transport from the set's first
// plugin, in map order.
func plugins(kind string, impl Echo) map[string]plugin.Plugin {
	if kind == "grpc" {
		return map[string]plugin.Plugin{kind: &grpcPlugin{impl: impl}}
	}
	return map[string]plugin.Plugin{kind: &rpcPlugin{impl}}
}

func main() {
	if os.Getenv(handshake.MagicCookieKey) == handshake.MagicCookieValue {
		kind := os.Getenv("PH_PEER_KIND")
		conf := &plugin.ServeConfig{
			HandshakeConfig: handshake,
			Plugins:         plugins(kind, echoImpl{}),
			Logger:          hclog.New(&hclog.LoggerOptions{Output: ioutil.Discard}),
		}
		if kind == "grpc" {
			conf.GRPCServer = plugin.DefaultGRPCServer
		}
		plugin.Serve(conf)
		return
	}
	if len(os.Args) != 5 {
		fmt.Fprintln(os.Stderr, "usage: goplugin-echo netrpc|grpc PAYLOAD ITERS WARMUP")
		os.Exit(2)
	}
	kind, payload := os.Args[1], []byte(os.Args[2])
	iters, err1 := strconv.Atoi(os.Args[3])
	warmup, err2 := strconv.Atoi(os.Args[4])
	if (kind != "netrpc" && kind != "grpc") || err1 != nil || err2 != nil || iters < 1 {
		log.Fatal("goplugin-echo: bad arguments")
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self)
	if cpu := os.Getenv("PH_PEER_CHILD_CPU"); cpu != "" {
		cmd = exec.Command("taskset", "-c", cpu, self)
	}
	cmd.Env = append(os.Environ(), "PH_PEER_KIND="+kind)
	protos := []plugin.Protocol{plugin.ProtocolNetRPC}
	if kind == "grpc" {
		protos = []plugin.Protocol{plugin.ProtocolGRPC}
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  handshake,
		Plugins:          plugins(kind, nil),
		Cmd:              cmd,
		AllowedProtocols: protos,
		Logger:           hclog.New(&hclog.LoggerOptions{Output: ioutil.Discard}),
	})
	defer client.Kill()
	rpcc, err := client.Client()
	if err != nil {
		log.Fatal(err)
	}
	raw, err := rpcc.Dispense(kind)
	if err != nil {
		log.Fatal(err)
	}
	echo := raw.(Echo)
	ns := make([]int64, 0, iters)
	for i := 0; i < warmup+iters; i++ {
		t0 := time.Now()
		out, err := echo.Echo(payload)
		d := time.Since(t0)
		if err != nil || string(out) != string(payload) {
			log.Fatalf("goplugin-echo: echo differs or failed: %v", err)
		}
		if i >= warmup {
			ns = append(ns, d.Nanoseconds())
		}
	}
	sort.Slice(ns, func(a, b int) bool { return ns[a] < ns[b] })
	fmt.Printf("%d %d\n", ns[len(ns)/2], ns[(len(ns)*99)/100])
	// Killing the plugin makes yamux complain on stderr about the closed
	// connection; that is the expected end, not news.
	if devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		_ = syscall.Dup3(int(devnull.Fd()), 2, 0)
	}
}
