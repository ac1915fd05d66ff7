package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zdgen/zdgen/rehearse"
	"github.com/zdgen/zdgen/rehearse/kube"
)

// clusterFlags are zdgen rehearse --cluster's, named as kubectl's.
type clusterFlags struct {
	on         bool
	kubeconfig string
	context    string
	namespace  string
	image      string
	loadImage  string
	pullPolicy string
	keep       bool
	disrupt    string
}

// clusterOnly are the flags that mean something only with --cluster.
var clusterOnly = []string{"kubeconfig", "context", "namespace", "image", "load-image", "pull-policy", "keep", "disrupt"}

func addClusterFlags(cmd *cobra.Command, c *clusterFlags) {
	f := cmd.Flags()
	f.BoolVar(&c.on, "cluster", false, "rehearse on a Kubernetes cluster (the kubeconfig's) instead of 127.0.0.1")
	f.StringVar(&c.kubeconfig, "kubeconfig", "", "with --cluster: the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&c.context, "context", "", "with --cluster: the kubeconfig context (default: its current one)")
	f.StringVarP(&c.namespace, "namespace", "n", "", "with --cluster: the namespace to create for the rehearsal; must not exist (default: zdgen-rehearse-<random>)")
	f.StringVar(&c.image, "image", "", "with --cluster: the service's image, as the cluster's nodes can pull it (required)")
	f.StringVar(&c.loadImage, "load-image", "", "with --cluster: the load client's image (the Dockerfile's loadtest stage; required)")
	f.StringVar(&c.pullPolicy, "pull-policy", "", "with --cluster: imagePullPolicy for both images: Always, IfNotPresent or Never (default: the Deployment's)")
	f.BoolVar(&c.keep, "keep", false, "with --cluster: keep the namespace afterwards, to look around (the load client is stopped all the same)")
	f.StringVar(&c.disrupt, "disrupt", kube.DisruptRollout, "with --cluster: how the pods are disrupted, --rollouts times: rollout (kubectl rollout restart), drain (kubectl drain of the node holding most of them) or evict (each pod evicted in turn)")
	_ = cmd.RegisterFlagCompletionFunc("pull-policy", cobra.FixedCompletions([]string{"Always", "IfNotPresent", "Never"}, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("disrupt", cobra.FixedCompletions(kube.Disruptions, cobra.ShellCompDirectiveNoFileComp))
}

// unused refuses cluster flags without --cluster: they would be ignored.
func (c *clusterFlags) unused(cmd *cobra.Command) error {
	if c.on {
		return nil
	}
	var set []string
	for _, name := range clusterOnly {
		if cmd.Flags().Changed(name) {
			set = append(set, "--"+name)
		}
	}
	if len(set) > 0 {
		return usageError{fmt.Errorf("%s: only with --cluster; without it the rehearsal runs on 127.0.0.1", strings.Join(set, ", "))}
	}
	return nil
}

// options are the cluster rehearsal's options, around the rehearsal's own.
func (c *clusterFlags) options(o rehearse.Options) kube.Options {
	return kube.Options{
		Options:    o,
		Kubeconfig: c.kubeconfig, Context: c.context, Namespace: c.namespace,
		Image: c.image, LoadImage: c.loadImage, PullPolicy: c.pullPolicy, Keep: c.keep,
		Disrupt: c.disrupt,
	}
}
