package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/tandem-oss/tandem/alerting"
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
