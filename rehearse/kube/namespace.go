package kube

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/zdgen/zdgen/rehearse"
)

// createNamespace creates the rehearsal's namespace, labelled as zdgen's;
// one that exists already is refused, never reused.
func createNamespace(ctx context.Context, c *cluster, ns string) error {
	_, err := c.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": ManagedBy},
	}}, metav1.CreateOptions{FieldManager: FieldManager})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		// Interrupted while creating it: the server may have created it
		// all the same. Delete it if it is ours (the label says so), not
		// if it was there before.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if n, gerr := c.client.CoreV1().Namespaces().Get(cleanup, ns, metav1.GetOptions{}); gerr == nil && n.Labels["app.kubernetes.io/managed-by"] == ManagedBy && n.DeletionTimestamp == nil {
			_ = c.client.CoreV1().Namespaces().Delete(cleanup, ns, metav1.DeleteOptions{})
		}
		return ctx.Err()
	case apierrors.IsAlreadyExists(err):
		return &rehearse.InputError{Err: fmt.Errorf("--namespace %s: it already exists; the rehearsal creates a namespace of its own and deletes it afterwards: name one that does not exist, or leave --namespace out", ns)}
	}
	return fmt.Errorf("creating namespace %s: %w", ns, err)
}

// deleteNamespace deletes ns and waits, at most limit, until it is gone.
func deleteNamespace(ctx context.Context, c *cluster, ns string, limit, poll time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	err := c.client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting namespace %s: %w (delete it with: kubectl delete namespace %s)", ns, err, ns)
	}
	for {
		_, err := c.client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("namespace %s still terminating %s after its deletion (kubectl get namespace %s shows it)", ns, limit, ns)
		case <-t.C:
		}
	}
}
