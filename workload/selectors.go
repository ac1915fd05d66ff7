package workload

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// checkSelectors refuses objects that should find the service's pods by
// their labels (the Deployment's pod template's) and find none: the
// Deployment's own selector (the API server refuses the Deployment), a
// Service's (it gets no endpoints: every request fails; a Service
// without a selector, whose endpoints are kept by other means, is left
// alone, but some Service must select the pods), a
// PodDisruptionBudget's (node drains may evict every pod at once; an
// empty one selects every pod of the namespace), and the target of a
// HorizontalPodAutoscaler (it scales nothing, and the Deployment leaves
// its count to it). The API server accepts all but the first. An object
// whose decoding failed is left to the message that reports it.
func (w *Workload) checkSelectors() error {
	d := w.Deployment
	pods := labels.Set(d.Spec.Template.Labels)
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if sel, err := selector(d.Spec.Selector); err != nil {
		bad("%s: spec.selector: %v", w.deployment(), err)
	} else if sel.Empty() || !sel.Matches(pods) {
		bad("%s: spec.selector %s does not select its own pod template (pod labels %s): the API server refuses the Deployment", w.deployment(), describe(sel), describeSet(pods))
	}
	served, missed := false, false
	for _, m := range w.Manifests {
		if m.Object == nil || m.Err != nil {
			continue
		}
		switch o := m.Object.(type) {
		case *corev1.Service:
			if len(o.Spec.Selector) == 0 {
				continue
			}
			sel := labels.SelectorFromSet(o.Spec.Selector)
			if !sel.Matches(pods) {
				missed = true
				bad("%s: selector %s selects none of the pods (pod labels %s): the Service gets no endpoints, and every request to it fails", w.where(m), sel, describeSet(pods))
				continue
			}
			served = true
		case *policyv1.PodDisruptionBudget:
			switch sel, err := selector(o.Spec.Selector); {
			case o.Spec.Selector == nil:
				bad("%s: no selector: the budget protects no pod, and node drains may evict every replica at once", w.where(m))
			case err != nil:
				bad("%s: selector: %v", w.where(m), err)
			case sel.Empty():
				bad("%s: an empty selector selects every pod of the namespace, not the service's", w.where(m))
			case !sel.Matches(pods):
				bad("%s: selector %s selects none of the pods (pod labels %s): the budget protects no pod, and node drains may evict every replica at once", w.where(m), sel, describeSet(pods))
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			ref := o.Spec.ScaleTargetRef
			if ref.APIVersion != "apps/v1" || ref.Kind != "Deployment" || ref.Name != d.Name {
				bad("%s: scaleTargetRef %s %s %s is not the Deployment (apps/v1 Deployment %s): it scales nothing, and a Deployment that leaves its count to it runs one pod", w.where(m), ref.APIVersion, ref.Kind, ref.Name, d.Name)
			}
		}
	}
	if !served && !missed {
		bad("no Service selects the pods (pod labels %s): nothing sends them traffic (a Service without a selector gets no endpoints of its own)", describeSet(pods))
	}
	if len(problems) > 0 {
		return inputErrorf("selectors that miss the service's pods:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// selector turns a label selector into one that can match; nil selects
// nothing.
func selector(ls *metav1.LabelSelector) (labels.Selector, error) {
	if ls == nil {
		return labels.Nothing(), nil
	}
	return metav1.LabelSelectorAsSelector(ls)
}

// describe writes a selector as kubectl's -l takes it, or says it has
// none.
func describe(sel labels.Selector) string {
	if s := sel.String(); s != "" {
		return s
	}
	return "(none)"
}

func describeSet(s labels.Set) string {
	if len(s) == 0 {
		return "none"
	}
	return s.String()
}
