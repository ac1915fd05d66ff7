// Package templates holds the files zdgen generates, as text/template
// sources embedded in the binary. Each file is the generated file as it will
// look, ending in .tmpl, with actions written [[ .Like.This ]] (Go code is
// full of "{{"); "_name_" in a path stands for the service name.
//
// common/ is shared by every protocol; http/ (and later grpc/) hold what is
// specific to one. A file in a protocol folder replaces the common file of
// the same path.
package templates

import "embed"

// FS is the template tree.
//
//go:embed all:common all:http all:grpc
var FS embed.FS
