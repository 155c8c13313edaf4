package gateway_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// reflectedServices are what `grpcurl -plaintext ADDR list` must show.
var reflectedServices = []string{
	"callgate.v1.CallbackService",
	"callgate.v1.ChannelService",
	"callgate.v1.ConfigService",
	"callgate.v1.DeliveryService",
	"callgate.v1.FeedbackService",
	"callgate.v1.TenantService",
}

// askReflection asks the gateway one reflection question through a real grpc-go
// client over cleartext HTTP/2, in the v1 protocol or (as older grpcurl
// versions speak) in v1alpha, and returns the answer as a v1 message.
func askReflection(t *testing.T, conn *grpc.ClientConn, version string, req *reflectionv1.ServerReflectionRequest) *reflectionv1.ServerReflectionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	switch version {
	case "v1":
		stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("open reflection stream: %v", err)
		}
		if err := stream.Send(req); err != nil {
			t.Fatalf("send: %v", err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatalf("close: %v", err)
		}
		return resp
	case "v1alpha":
		// The two versions' messages have the same fields and numbers.
		alphaReq := &reflectionv1alpha.ServerReflectionRequest{}
		convertReflection(t, req, alphaReq)
		stream, err := reflectionv1alpha.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatalf("open reflection stream: %v", err)
		}
		if err := stream.Send(alphaReq); err != nil {
			t.Fatalf("send: %v", err)
		}
		alphaResp, err := stream.Recv()
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if err := stream.CloseSend(); err != nil {
			t.Fatalf("close: %v", err)
		}
		resp := &reflectionv1.ServerReflectionResponse{}
		convertReflection(t, alphaResp, resp)
		return resp
	}
	t.Fatalf("no reflection version %q", version)
	return nil
}

func convertReflection(t *testing.T, from, to proto.Message) {
	t.Helper()
	b, err := proto.Marshal(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(b, to); err != nil {
		t.Fatal(err)
	}
}

// TestReflection lists and describes the services through gRPC server
// reflection, as grpcurl does.
func TestReflection(t *testing.T) {
	r := start(t, testConfig(t.TempDir()))
	conn, err := grpc.NewClient(strings.TrimPrefix(r.base, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })

	for _, version := range []string{"v1", "v1alpha"} {
		t.Run(version+"_list_services", func(t *testing.T) {
			resp := askReflection(t, conn, version, &reflectionv1.ServerReflectionRequest{
				MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{ListServices: "*"},
			})
			var got []string
			for _, s := range resp.GetListServicesResponse().GetService() {
				got = append(got, s.GetName())
			}
			for _, want := range reflectedServices {
				if !slices.Contains(got, want) {
					t.Errorf("services %q lack %s", got, want)
				}
			}
			if e := resp.GetErrorResponse(); e != nil {
				t.Errorf("error response: %v", e)
			}
		})
		t.Run(version+"_describe_service", func(t *testing.T) {
			resp := askReflection(t, conn, version, &reflectionv1.ServerReflectionRequest{
				MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{
					FileContainingSymbol: "callgate.v1.CallbackService",
				},
			})
			files := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
			if len(files) == 0 {
				t.Fatalf("no file descriptor: %v", resp)
			}
			fd := &descriptorpb.FileDescriptorProto{}
			if err := proto.Unmarshal(files[0], fd); err != nil {
				t.Fatal(err)
			}
			var methods []string
			for _, s := range fd.GetService() {
				if s.GetName() == "CallbackService" {
					for _, m := range s.GetMethod() {
						methods = append(methods, m.GetName())
					}
				}
			}
			if fd.GetPackage() != "callgate.v1" || !slices.Contains(methods, "SubmitCallback") {
				t.Errorf("file %s (package %s) has CallbackService methods %q", fd.GetName(), fd.GetPackage(), methods)
			}
		})
	}
	t.Run("unknown_symbol", func(t *testing.T) {
		resp := askReflection(t, conn, "v1", &reflectionv1.ServerReflectionRequest{
			MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: "callgate.v1.NoSuchService"},
		})
		if resp.GetErrorResponse() == nil {
			t.Errorf("reflection found a service that does not exist: %v", resp)
		}
	})
}
