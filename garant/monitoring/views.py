"""Web pages of monitoring: the "Suivi" tab of a system (its feeds) and a feed's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from garant.core import permissions
from garant.monitoring import alert_views, alerts, ingest
from garant.monitoring.forms import FeedForm, UploadForm
from garant.monitoring.models import Feed
from garant.registry.models import AISystem
from garant.registry.views import _system_context


@login_required
def system_feeds(request, pk):
    system = permissions.get_scoped(
        request.user, AISystem.objects.select_related("establishment", "vendor"), pk
    )
    context = _system_context(request, system, "monitoring")
    form = None
    if context["can_change"]:
        form = FeedForm(request.POST or None, ai_system=system)
        if request.method == "POST" and form.is_valid():
            feed = form.save()
            messages.success(request, _("Flux « %(name)s » créé.") % {"name": feed.name})
            return redirect(feed)
    context["form"] = form
    context["feeds"] = system.feeds.all()
    context["open_alerts"] = alerts.open_counts(system)
    return render(request, "monitoring/system_feeds.html", context)


@login_required
def feed_detail(request, pk):
    feed = permissions.get_scoped(
        request.user, Feed.objects.select_related("ai_system__establishment"), pk
    )
    system = feed.ai_system
    context = _system_context(request, system, "monitoring")
    form, errors, status = None, None, 200
    if context["can_change"]:
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            errors = _upload(request, feed, form)
            if errors is None:
                return redirect(feed)
            status = 422  # refused: the page with its errors, a client error
    context.update(
        feed=feed,
        form=form,
        errors=errors,
        batches=feed.batches.select_related("created_by")[:100],
    )
    context.update(alert_views.feed_context(feed, context["can_change"]))
    return render(request, "monitoring/feed_detail.html", context, status=status)


def _upload(request, feed, form) -> dict | None:
    """Ingest the uploaded file; the errors to show, or None when the page may redirect."""
    upload = form.cleaned_data["file"]
    kind = form.cleaned_data["kind"]
    try:
        if ingest.is_fhir(upload):  # a FHIR Bundle (.json): its resources give the kind
            kind, table = ingest.read_fhir(feed, upload)
        else:
            table = ingest.read_file(upload)
        batch = ingest.ingest(feed, kind, table, "ui", request.user)
    except ingest.BatchRefused as refused:
        return {"listed": refused.errors, "total": refused.total, "file": upload.name}
    except ingest.AlreadyReceived as duplicate:
        messages.info(request, str(duplicate))
        return None
    messages.success(
        request,
        _("%(rows)s lignes enregistrées (%(kind)s).")
        % {"rows": batch.rows, "kind": batch.get_kind_display()},
    )
    if batch.dropped_rows:
        messages.info(
            request,
            _("%(dropped)s lignes écartées : patients opposés à l'évaluation.")
            % {"dropped": batch.dropped_rows},
        )
    return None
