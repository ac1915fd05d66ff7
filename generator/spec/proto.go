package spec

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"
)

// The protoc plugins whose output zdgen writes itself for gRPC services,
// recorded in .zdgen.yaml and used by the generated Makefile's proto target.
const (
	ProtocGenGoVersion     = "v1.36.12"
	ProtocGenGoGRPCVersion = "v1.6.2"
)

// Proto describes the generated service's .proto file and the names
// protoc-gen-go derives from it. zdgen writes the .pb.go and _grpc.pb.go
// itself (no protoc, no network, at generation time); a test checks they
// equal what protoc and the pinned plugins produce.
type Proto struct {
	Path      string `json:"path"`      // api/NAME/v1/NAME.proto
	Package   string `json:"package"`   // NAME.v1, with '-' as '_'
	GoImport  string `json:"goImport"`  // MODULE/api/NAME/v1
	GoName    string `json:"goName"`    // NAMEv1: the Go package name
	FileIdent string `json:"fileIdent"` // the path as a Go identifier, as protoc-gen-go makes it
	// The plugin versions whose output the generated code matches.
	GenGoVersion     string `json:"protocGenGo"`
	GenGoGRPCVersion string `json:"protocGenGoGrpc"`
	// RawDesc is the serialized FileDescriptorProto as protoc-gen-go
	// prints it: a Go string expression.
	RawDesc string `json:"-"`
}

func planProto(a Answers) (Proto, error) {
	pkgIdent := strings.ReplaceAll(a.Name, "-", "_")
	p := Proto{
		Path:     fmt.Sprintf("api/%s/v1/%s.proto", a.Name, a.Name),
		Package:  pkgIdent + ".v1",
		GoImport: fmt.Sprintf("%s/api/%s/v1", a.Module, a.Name),
		GoName:   strings.ReplaceAll(a.Name, "-", "") + "v1",

		GenGoVersion:     ProtocGenGoVersion,
		GenGoGRPCVersion: ProtocGenGoGRPCVersion,
	}
	p.FileIdent = goSanitized(p.Path)
	raw, err := proto.MarshalOptions{Deterministic: true}.Marshal(p.descriptor())
	if err != nil {
		return Proto{}, fmt.Errorf("proto descriptor: %w", err)
	}
	p.RawDesc = rawDescLiteral(raw)
	return p, nil
}

// descriptor is the FileDescriptorProto protoc hands to its plugins for the
// template's .proto (source info stripped, json_name filled in), built
// field by field. Keep it in step with templates/grpc/api/_name_/v1/_name_.proto.tmpl.
func (p Proto) descriptor() *descriptorpb.FileDescriptorProto {
	int64Field := func(name, json string) *descriptorpb.FieldDescriptorProto {
		return &descriptorpb.FieldDescriptorProto{
			Name:     proto.String(name),
			Number:   proto.Int32(1),
			Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
			Type:     descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(),
			JsonName: proto.String(json),
		}
	}
	return &descriptorpb.FileDescriptorProto{
		Name:    proto.String(p.Path),
		Package: proto.String(p.Package),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("WorkRequest"), Field: []*descriptorpb.FieldDescriptorProto{int64Field("duration_ms", "durationMs")}},
			{Name: proto.String("WorkResponse"), Field: []*descriptorpb.FieldDescriptorProto{int64Field("worked_ms", "workedMs")}},
		},
		Service: []*descriptorpb.ServiceDescriptorProto{{
			Name: proto.String("WorkService"),
			Method: []*descriptorpb.MethodDescriptorProto{{
				Name:       proto.String("Work"),
				InputType:  proto.String("." + p.Package + ".WorkRequest"),
				OutputType: proto.String("." + p.Package + ".WorkResponse"),
			}},
		}},
		Options: &descriptorpb.FileOptions{GoPackage: proto.String(p.GoImport + ";" + p.GoName)},
		Syntax:  proto.String("proto3"),
	}
}

// rawDescLiteral prints a serialized descriptor the way protoc-gen-go does:
// "" followed by one quoted chunk per 0x0a-terminated run, joined with +.
func rawDescLiteral(b []byte) string {
	var sb strings.Builder
	sb.WriteString(`""`)
	for _, chunk := range bytes.SplitAfter(b, []byte{'\n'}) {
		fmt.Fprintf(&sb, " +\n\t%q", chunk)
	}
	return sb.String()
}

// goSanitized turns a path into an identifier as protoc-gen-go does:
// every rune that is not a letter or digit becomes '_'.
func goSanitized(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return r
		}
		return '_'
	}, s)
}
