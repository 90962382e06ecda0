from django.urls import path

from institutions import views

app_name = "institutions"
urlpatterns = [
    path("", views.institution_list, name="list"),
    path("<slug:subdomain>/", views.institution_detail, name="detail"),
]
