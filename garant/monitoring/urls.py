from django.urls import path

from garant.monitoring import dashboard, views

app_name = "monitoring"

urlpatterns = [
    path("systemes/<int:pk>/", views.system_feeds, name="system_feeds"),
    path("flux/<int:pk>/", views.feed_detail, name="feed_detail"),
    path("flux/<int:pk>/tableau/", dashboard.dashboard, name="dashboard"),
]
