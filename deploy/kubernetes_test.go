package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tandem-oss/tandem/alerting"
	"github.com/tandem-oss/tandem/backfill"
	"github.com/tandem-oss/tandem/dashboards"
)

// The kustomization builds, and every object decodes strictly (unknown fields are errors) into
// its Kubernetes or Prometheus Operator API type.
func TestKustomizeBaseBuildsAndDecodesStrictly(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "kubernetes")
	if err != nil {
		t.Fatalf("kustomize build deploy/kubernetes: %v", err)
	}
	var (
		deploy     *appsv1.Deployment
		service    *corev1.Service
		monitor    *monitoringv1.ServiceMonitor
		rule       *monitoringv1.PrometheusRule
		configMaps = map[string]*corev1.ConfigMap{}
	)
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		strict := func(into any) {
			t.Helper()
			if err := sigsyaml.UnmarshalStrict(y, into); err != nil {
				t.Fatalf("%s %s does not decode strictly: %v", r.GetKind(), r.GetName(), err)
			}
		}
		if ns := r.GetNamespace(); ns != "tandem" {
			t.Errorf("%s %s in namespace %q", r.GetKind(), r.GetName(), ns)
		}
		switch r.GetKind() {
		case "Deployment":
			deploy = &appsv1.Deployment{}
			strict(deploy)
		case "Service":
			service = &corev1.Service{}
			strict(service)
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			strict(cm)
			configMaps[cm.Name] = cm
		case "ServiceMonitor":
			monitor = &monitoringv1.ServiceMonitor{}
			strict(monitor)
		case "PrometheusRule":
			rule = &monitoringv1.PrometheusRule{}
			strict(rule)
		default:
			t.Errorf("unexpected %s %s", r.GetKind(), r.GetName())
		}
	}
	if deploy == nil || service == nil || monitor == nil || rule == nil || len(configMaps) != 2 {
		t.Fatalf("missing objects: deployment %v service %v monitor %v rule %v configmaps %d", deploy != nil, service != nil, monitor != nil, rule != nil, len(configMaps))
	}

	// The exporter runs locked down, probed, bounded, with its DSNs from a Secret.
	pod := deploy.Spec.Template.Spec
	c := pod.Containers[0]
	if pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("not runAsNonRoot")
	}
	if c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem ||
		c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
		t.Error("container not read-only or may escalate")
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Error("probes or resources missing")
	}
	for _, e := range c.Env {
		if e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s must come from a Secret", e.Name)
		}
	}
	if cm := configMaps[pod.Volumes[0].ConfigMap.Name]; cm == nil || cm.Data["tandem.yml"] == "" {
		t.Errorf("the config volume does not point at the generated tandem-config ConfigMap (%s)", pod.Volumes[0].ConfigMap.Name)
	}
	// The Service exposes the port the ServiceMonitor scrapes, for the pods it selects.
	if service.Spec.Ports[0].Name != monitor.Spec.Endpoints[0].Port || service.Spec.Selector["app.kubernetes.io/name"] != deploy.Spec.Selector.MatchLabels["app.kubernetes.io/name"] {
		t.Error("service, deployment and service monitor do not line up")
	}

	// Dashboards for Grafana's sidecar: the same JSON as the compose stack.
	dash := configMaps["tandem-dashboards"]
	if dash == nil || dash.Labels["grafana_dashboard"] != "1" {
		t.Fatal("dashboards ConfigMap missing or not labelled for the Grafana sidecar")
	}
	for _, d := range dashboards.All {
		want, err := os.ReadFile(filepath.Join("grafana/dashboards", d.File))
		if err != nil {
			t.Fatal(err)
		}
		if dash.Data[d.File] != string(want) {
			t.Errorf("dashboard %s in the ConfigMap differs from deploy/grafana/dashboards", d.File)
		}
	}
	// The PrometheusRule holds the same groups as the compose stack's rule file.
	want := alerting.Build(alerting.Defaults())
	got, _ := json.Marshal(rule.Spec.Groups)
	var groups []alerting.Group
	if err := json.Unmarshal(got, &groups); err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(want.Groups) {
		t.Fatalf("PrometheusRule has %d groups, want %d", len(groups), len(want.Groups))
	}
	for i := range groups {
		if groups[i].Name != want.Groups[i].Name || len(groups[i].Rules) != len(want.Groups[i].Rules) {
			t.Errorf("group %d: %s with %d rules, want %s with %d", i, groups[i].Name, len(groups[i].Rules), want.Groups[i].Name, len(want.Groups[i].Rules))
			continue
		}
		for j, r := range groups[i].Rules {
			if r.Expr != want.Groups[i].Rules[j].Expr || r.Alert+r.Record != want.Groups[i].Rules[j].Alert+want.Groups[i].Rules[j].Record {
				t.Errorf("group %s rule %d differs from the rule file", groups[i].Name, j)
			}
		}
	}
}

// The backfill overlay adds a Job (and its volume) to the base: the Job decodes strictly, reads
// the base's generated configuration, labels the history as the ServiceMonitor labels the live
// scrape, and makes blocks with the promtool of the Prometheus version the stack runs.
func TestKustomizeBackfillJob(t *testing.T) {
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), "kubernetes-backfill")
	if err != nil {
		t.Fatalf("kustomize build deploy/kubernetes-backfill: %v", err)
	}
	var (
		job     *batchv1.Job
		pvc     *corev1.PersistentVolumeClaim
		monitor *monitoringv1.ServiceMonitor
		config  string
	)
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case r.GetKind() == "Job":
			job = &batchv1.Job{}
			if err := sigsyaml.UnmarshalStrict(y, job); err != nil {
				t.Fatalf("Job does not decode strictly: %v", err)
			}
		case r.GetKind() == "PersistentVolumeClaim":
			pvc = &corev1.PersistentVolumeClaim{}
			if err := sigsyaml.UnmarshalStrict(y, pvc); err != nil {
				t.Fatalf("PersistentVolumeClaim does not decode strictly: %v", err)
			}
		case r.GetKind() == "ServiceMonitor":
			monitor = &monitoringv1.ServiceMonitor{}
			if err := sigsyaml.UnmarshalStrict(y, monitor); err != nil {
				t.Fatal(err)
			}
		case r.GetKind() == "ConfigMap" && strings.HasPrefix(r.GetName(), "tandem-config"):
			config = r.GetName()
		}
	}
	if job == nil || pvc == nil || monitor == nil || config == "" {
		t.Fatalf("missing objects: job %v pvc %v monitor %v config %q", job != nil, pvc != nil, monitor != nil, config)
	}
	if job.Namespace != "tandem" || (job.Spec.BackoffLimit != nil && *job.Spec.BackoffLimit != 0) {
		t.Errorf("Job in %q with backoffLimit %v: want namespace tandem, no retry of a refusal", job.Namespace, job.Spec.BackoffLimit)
	}
	pod := job.Spec.Template.Spec
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name != config {
			t.Errorf("the Job reads ConfigMap %s, the base generates %s", v.ConfigMap.Name, config)
		}
		if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != pvc.Name {
			t.Errorf("the Job mounts claim %s, not %s", v.PersistentVolumeClaim.ClaimName, pvc.Name)
		}
	}
	bf, blocks := pod.InitContainers[0], pod.Containers[0]
	args := strings.Join(bf.Args, " ")
	// The live series' labels: job and instance from the ServiceMonitor's relabelings.
	want := map[string]string{}
	for _, r := range monitor.Spec.Endpoints[0].RelabelConfigs {
		if r.Replacement != nil {
			want[r.TargetLabel] = *r.Replacement
		}
	}
	for label, flag := range map[string]string{"job": "--backfill.job=", "instance": "--backfill.instance="} {
		if want[label] == "" || !strings.Contains(args, flag+want[label]+" ") {
			t.Errorf("the Job's %s is not the ServiceMonitor's %q: %s", label, want[label], args)
		}
	}
	for _, w := range []string{"backfill ", "--backfill.prometheus-url=", "--backfill.output=/history/tandem-history.om"} {
		if !strings.Contains(args, w) {
			t.Errorf("the backfill container's args lack %q: %s", w, args)
		}
	}
	cmd := strings.Join(blocks.Command, " ")
	if !strings.Contains(cmd, "promtool tsdb create-blocks-from openmetrics --max-block-duration="+backfill.BlockDuration+" /history/tandem-history.om /history/blocks") {
		t.Errorf("the blocks container runs %q", cmd)
	}
	compose, _ := os.ReadFile("../docker-compose.yml")
	if v := blocks.Image; !strings.Contains(string(compose), "image: "+v) {
		t.Errorf("promtool %s is not the compose stack's Prometheus", blocks.Image)
	}
	for _, c := range []corev1.Container{bf, blocks} {
		if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem || c.Resources.Limits.Memory().IsZero() {
			t.Errorf("container %s not read-only or unbounded", c.Name)
		}
	}
	for _, e := range bf.Env {
		if e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s must come from a Secret", e.Name)
		}
	}
}
