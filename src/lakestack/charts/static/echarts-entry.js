// The parts of Apache ECharts the lakestack console and reports draw with.
import * as echarts from 'echarts/core';
import { LineChart, BarChart, HeatmapChart, GraphChart, ScatterChart } from 'echarts/charts';
import {
  GridComponent, TooltipComponent, LegendComponent, TitleComponent, MarkLineComponent,
  MarkAreaComponent, MarkPointComponent, VisualMapComponent, DatasetComponent,
} from 'echarts/components';
import { SVGRenderer } from 'echarts/renderers';
echarts.use([
  LineChart, BarChart, HeatmapChart, GraphChart, ScatterChart, GridComponent, TooltipComponent,
  LegendComponent, TitleComponent, MarkLineComponent, MarkAreaComponent, MarkPointComponent,
  VisualMapComponent, DatasetComponent, SVGRenderer,
]);
window.echarts = echarts;
